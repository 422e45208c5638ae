"""Errors a flow raises on purpose: they end a run as `failed` with a reason, not a traceback."""

from __future__ import annotations

from typing import Any


class FlowError(Exception):
    """A flow could not go on, for a reason a user can read and act on.

    `code` is a stable, machine-readable reason (``document_encrypted``); `message` says
    what happened and what to do. The runner records both and marks the run failed.
    """

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class ModelError(Exception):
    """A model backend failed to give a usable answer after its bounded retries."""


class ConfigError(Exception):
    """The configuration is wrong; the message says which setting to change."""


class RunNotFound(LookupError):
    """No run has this id."""


class RunStateError(Exception):
    """The run is not in a state that allows this (e.g. approving a finished run)."""


class FlowVersionMismatch(RunStateError):
    """A waiting run cannot resume on the installed version of its flow (its graph changed
    where the run has yet to go); `bpa runs migrate` moves it to that version."""


class InvalidInput(ValueError):
    """A flow input the engine refuses before any run exists: it does not fit the flow's
    input model, or breaks a rule of every input (a NUL character). The message is one line
    that says what to fix."""


class IdempotencyConflict(Exception):
    """An idempotency key was reused with a different request."""


class InvalidDecision(ValueError):
    """A human decision does not answer the question the run is waiting on."""
