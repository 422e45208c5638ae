"""How a connector declares the undo of a side effect (connectors/undo.py), and how the
request of that undo is built from a call: by the declared builder, from the call's fields
(an undo declared by name), or not at all (`Irreversible`, for the action or one call)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from connectors.base import Connector, Done, Irreversible, Undo, action
from connectors.errors import Rejected
from connectors.registry import validate_connector_class


class Open(BaseModel):
    subject: str


class Item(BaseModel):
    id: str
    subject: str
    sent: bool = False


class ItemRef(BaseModel):
    item_id: str
    reason: str = ""


class Reopen(BaseModel):
    ref: str


def _withdraw(done: Done[Open, Item]) -> ItemRef | Irreversible:
    if done.result.sent:
        return Irreversible("it was sent")
    return ItemRef(item_id=done.result.id, reason=done.reason)


class DeskConfig(BaseModel):
    pass


class Desk(Connector):
    name: ClassVar[str] = "desk"
    kind: ClassVar[str] = "toy"
    config_model: ClassVar[type[BaseModel] | None] = DeskConfig

    @action(side_effect=True, undo=Undo("withdraw", _withdraw))
    async def submit(self, request: Open, *, idempotency_key: str) -> Item:
        """Submit; undone by withdrawing, unless it was sent."""
        return Item(id="I-1", subject=request.subject, sent=request.subject == "urgent")

    @action(side_effect=True, undo="withdraw")
    async def open(self, request: Open, *, idempotency_key: str) -> Item:
        """Open; undone by withdrawing (the request built from the call's fields)."""
        return Item(id="I-2", subject=request.subject)

    @action(side_effect=True, undo="reopen")
    async def close(self, request: ItemRef, *, idempotency_key: str) -> Item:
        """Close; its undo's request cannot be built from the call."""
        return Item(id=request.item_id, subject="?")

    @action(side_effect=True, undo=Irreversible("gone is gone"))
    async def withdraw(self, request: ItemRef, *, idempotency_key: str) -> Item:
        """Withdraw an item."""
        return Item(id=request.item_id, subject="withdrawn")

    @action(side_effect=True, undo=Irreversible("a toy"))
    async def reopen(self, request: Reopen, *, idempotency_key: str) -> Item:
        """Reopen."""
        return Item(id=request.ref, subject="reopened")


def done(action: str, request: BaseModel, result: Any) -> Done[Any, Any]:
    return Done(action, request, result, idempotency_key="k-1", reason="a mistake")


def test_every_form_of_undo_is_declared_by_the_undo_actions_name() -> None:
    specs = Desk.action_specs()
    assert specs["submit"].undo == specs["open"].undo == "withdraw"
    assert specs["submit"].undo_build is _withdraw and specs["open"].undo_build is None
    assert specs["withdraw"].describe()["undo"] == "irreversible: gone is gone"
    assert validate_connector_class(Desk, "desk") == []


def test_the_declared_builder_makes_the_request_or_says_why_not() -> None:
    desk, spec = Desk(), Desk.action_specs()["submit"]
    item = Item(id="I-1", subject="hello")
    assert desk.undo_request(spec, done("submit", Open(subject="hello"), item)) == ItemRef(
        item_id="I-1", reason="a mistake"
    )
    sent = item.model_copy(update={"sent": True})
    assert desk.undo_request(spec, done("submit", Open(subject="x"), sent)) == Irreversible(
        "it was sent"
    )


def test_an_undo_declared_by_name_gets_the_calls_fields_and_the_records_id() -> None:
    desk, specs = Desk(), Desk.action_specs()
    request = desk.undo_request(
        specs["open"], done("open", Open(subject="hi"), Item(id="I-2", subject="hi"))
    )
    assert request == ItemRef(item_id="I-2", reason="a mistake")  # Item's id as item_id
    assert desk.undo_request(specs["withdraw"], done("withdraw", ItemRef(item_id="I"), None)) == (
        Irreversible("gone is gone")
    )


def test_an_undo_request_that_cannot_be_built_is_refused_with_a_hint() -> None:
    desk, spec = Desk(), Desk.action_specs()["close"]
    with pytest.raises(Rejected) as refused:
        desk.undo_request(spec, done("close", ItemRef(item_id="I-3"), Item(id="I-3", subject="")))
    assert refused.value.code == "undo_request_unbuildable"
    assert "Undo(action, build)" in refused.value.message
