class LeadError(Exception):
    """A refused action on a lead; the message is shown to the user as is."""


class LeadAlreadyClaimed(LeadError):
    def __init__(self, lead, owner) -> None:
        name = owner.get_full_name() or owner.get_username() if owner else "someone else"
        super().__init__(f"Already claimed by {name}.")
        self.lead = lead
        self.owner = owner


class NoRepAvailable(LeadError):
    pass
