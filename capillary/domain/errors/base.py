"""The error tree's root and its families: what every refusal is a kind of."""

from __future__ import annotations


class CapillaryError(Exception):
    """Base of every refusal. ``code`` is stable; the message is for people."""

    code: str = "capillary_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ValidationError(CapillaryError):
    code = "validation_error"


class NotFound(CapillaryError):
    code = "not_found"


class Conflict(CapillaryError):
    code = "conflict"


class Refused(CapillaryError):
    code = "refused"


class Unauthorized(CapillaryError):
    code = "unauthorized"


class Forbidden(CapillaryError):
    code = "forbidden"
