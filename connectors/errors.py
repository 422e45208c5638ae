"""One error hierarchy for every connector, so flows handle failures the same way everywhere."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthError",
    "Conflict",
    "ConnectorConfigError",
    "ConnectorError",
    "NotFound",
    "Rejected",
    "Transient",
    "Unsupported",
]


class ConnectorError(Exception):
    """Base of all connector failures. `code` is stable and machine-readable."""

    code = "connector_error"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "code": self.code,
            "message": self.message,
            **({"details": self.details} if self.details else {}),
        }


class NotFound(ConnectorError):
    """The record asked for does not exist."""

    code = "not_found"


class Rejected(ConnectorError):
    """The system refused the request as invalid or against its rules; retrying won't help."""

    code = "rejected"


class Conflict(Rejected):
    """The request clashes with existing state (a duplicate, or an idempotency key reused)."""

    code = "conflict"


class Transient(ConnectorError):
    """A passing failure (timeout, overload); the same call may succeed later."""

    code = "transient"
    retryable = True


class AuthError(ConnectorError):
    """The credentials are missing, wrong or lack the permission for this action."""

    code = "auth"


class Unsupported(Rejected):
    """The connector does not implement this optional capability of its kind."""

    code = "unsupported"


class ConnectorConfigError(ValueError):
    """A connector's configuration is missing or invalid; the message is one line saying
    what to set. Raised when the connector is built, never during a run."""
