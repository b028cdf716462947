"""The routing screen: sales managers set each rep's availability, working hours, capacity and round-robin weight."""
