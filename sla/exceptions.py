class AgreementError(Exception):
    """A refused agreement action; the message is shown to the user as is."""


class AgreementLocked(AgreementError):
    pass


class InvalidContent(AgreementError):
    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class SignatureRefused(AgreementError):
    pass


class SignedVersionImmutable(AgreementError):
    """A signed version (active or superseded) or one of its signatures was about to change."""
