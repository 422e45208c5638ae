"""How a side effect is undone: the compensating action, and its request built from what the
original call did.

An action declares ``undo=Undo("void_bill", build)``: `build` receives the `Done` record of
one call (its request, its result, its idempotency key, and why it is being undone) and
returns the undo action's request, or `Irreversible(reason)` when this particular call
cannot be undone (an e-mail already handed to a mail server). The short forms stay:
``undo=Irreversible("why")``, and ``undo="name"``, whose request `Connector.undo_request`
builds from the fields of the original request and result that the undo's request has
(`fields_request`); a connector may override `undo_request` instead.

Builders are pure: they read the call as it was made and answered, nothing else. A system
that needs more to restore a record (an order's items before a change) keeps that history
itself, under the call's idempotency key, and the builder hands it the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from pydantic import BaseModel, ValidationError

from connectors.errors import Rejected

__all__ = ["Done", "Irreversible", "Undo", "UndoBuilder", "fields_request", "undo_key"]

RequestT = TypeVar("RequestT", bound=BaseModel)
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Irreversible:
    """Declares that an action (or one call of it) has no compensation, and why."""

    reason: str


@dataclass(frozen=True)
class Done(Generic[RequestT, ResultT]):
    """One successful side-effecting call, as an undo builder sees it."""

    action: str
    request: RequestT
    result: ResultT
    #: The key the call was made under; a system that keeps history finds the change by it.
    idempotency_key: str
    #: Why it is undone (a rollback's or a reviewer's reason), for requests that record one.
    reason: str


#: Builds the undo action's request from a call, or says this call cannot be undone.
UndoBuilder: TypeAlias = Callable[[Done[Any, Any]], BaseModel | Irreversible]


@dataclass(frozen=True)
class Undo:
    """The action that undoes a side effect, and how its request is built (see `Done`)."""

    action: str
    build: UndoBuilder


def undo_key(idempotency_key: str) -> str:
    """The idempotency key of the undo of the call made under `idempotency_key`: derived from
    it, so an undo tried again (a rollback re-run after a crash) is the same call, made once."""
    return f"undo:{idempotency_key}"


def fields_request(model: type[BaseModel], done: Done[Any, Any]) -> BaseModel:
    """`model` filled from the fields of `done`'s request and result (the result's win), the
    result's ``id`` also as ``<record>_id`` (its type's name in snake case: a `Bill`'s id is
    ``bill_id``) and, if `model` has a ``reason`` field, the reason for undoing: the request
    of an undo declared by name only. `Rejected` (code ``undo_request_unbuildable``) when
    they do not fill it."""
    data: dict[str, Any] = dict(done.request.model_dump())
    if isinstance(done.result, BaseModel):
        data.update(done.result.model_dump())
        if data.get("id") is not None:
            record = re.sub(r"(?<!^)(?=[A-Z])", "_", type(done.result).__name__).lower()
            data.setdefault(f"{record}_id", data["id"])
    if "reason" in model.model_fields:
        data["reason"] = done.reason
    try:
        return model.model_validate({k: v for k, v in data.items() if k in model.model_fields})
    except ValidationError as exc:
        raise Rejected(
            f"the undo of {done.action} needs a {model.__name__} that its request and result "
            f"do not give ({exc.error_count()} error(s)); declare it with "
            f"Undo(action, build)",
            code="undo_request_unbuildable",
        ) from exc
