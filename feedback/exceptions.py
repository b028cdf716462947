class OutcomeRefused(Exception):
    """A refused outcome step; the message says precisely why and is shown to the user as is."""
