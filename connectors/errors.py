"""One error hierarchy for every connector, so flows handle failures the same way everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = [
    "AuthError",
    "Conflict",
    "ConnectorConfigError",
    "ConnectorError",
    "NotFound",
    "RateLimited",
    "Rejected",
    "TimedOut",
    "Transient",
    "Unavailable",
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


class TimedOut(Transient):
    """No answer in time. The request may or may not have taken effect: a side-effecting call
    is repeated with the same idempotency key, never with a new one."""

    code = "timeout"


class RateLimited(Transient):
    """The system asks the caller to slow down (HTTP 429); `retry_after` is the wait it asked
    for, in seconds, when it said (a ``Retry-After`` header)."""

    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, code=code, retry_after=retry_after, **details)
        self.retry_after = retry_after


class Unavailable(ConnectorError):
    """The connector is not called for now (its circuit breaker is open, or it asked for a
    longer pause than a retry waits). Not a failure of the run: it waits and goes on at
    `retry_at`. Flows let it through, as they do `Transient` errors."""

    code = "unavailable"

    def __init__(
        self, message: str, *, connector: str, retry_at: dt.datetime, **details: Any
    ) -> None:
        super().__init__(message, connector=connector, retry_at=retry_at.isoformat(), **details)
        self.connector = connector
        self.retry_at = retry_at


class AuthError(ConnectorError):
    """The credentials are missing, wrong or lack the permission for this action."""

    code = "auth"


class Unsupported(Rejected):
    """The connector does not implement this optional capability of its kind."""

    code = "unsupported"


class ConnectorConfigError(ValueError):
    """A connector's configuration is missing or invalid; the message is one line saying
    what to set. Raised when the connector is built, never during a run."""
