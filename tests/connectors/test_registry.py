"""The connector registry: entry points are checked; a broken plug-in is reported, not raised."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from connectors.accounting import MockAccountingConnector
from connectors.base import Connector, Irreversible, action
from connectors.kinds import AccountingConnector
from connectors.registry import load_connectors, validate_connector_class
from connectors.schemas import BillRef, BillVoid, VendorRef


class _Config(BaseModel):
    url: str = "memory://"


class _Reference(Connector):
    """A small valid connector of a made-up kind."""

    name = "reference"
    kind = "example"
    config_model = _Config

    def __init__(self, config: Any) -> None:
        self.config = config

    @action()
    async def read(self, request: VendorRef) -> VendorRef:
        """Echo."""
        return request

    @action(side_effect=True, undo="remove")
    async def add(self, request: BillRef, *, idempotency_key: str) -> BillRef:
        """Add."""
        return request

    @action(side_effect=True, undo=Irreversible("gone is gone"))
    async def remove(self, request: BillVoid, *, idempotency_key: str) -> BillVoid:
        """Remove."""
        return request


@dataclass
class FakeEntryPoint:
    name: str
    value: str
    target: Any = None
    error: Exception | None = None

    def load(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.target


def test_the_mock_accounting_connector_is_valid() -> None:
    assert validate_connector_class(MockAccountingConnector, "accounting") == []
    assert validate_connector_class(_Reference, "reference") == []


def test_a_side_effect_without_undo_cannot_even_be_declared() -> None:
    with pytest.raises(TypeError, match="undo"):

        @action(side_effect=True)
        async def pay(self: Any, request: BillRef, *, idempotency_key: str) -> BillRef:
            return request


def test_undo_must_name_an_action_that_changes_data() -> None:
    class NoSuchUndo(_Reference):
        @action(side_effect=True, undo="unadd")
        async def add(self, request: BillRef, *, idempotency_key: str) -> BillRef:
            """Add."""
            return request

    class ReadAsUndo(_Reference):
        @action(side_effect=True, undo="read")
        async def add(self, request: BillRef, *, idempotency_key: str) -> BillRef:
            """Add."""
            return request

    (problem,) = validate_connector_class(NoSuchUndo, "reference")
    assert "'unadd'" in problem and "not an action" in problem
    (problem,) = validate_connector_class(ReadAsUndo, "reference")
    assert "cannot compensate" in problem


def test_name_kind_and_config_model_are_required() -> None:
    class Nameless(Connector):
        config_model = None

    problems = validate_connector_class(Nameless, "nameless")
    assert any("kind" in p for p in problems)
    assert any("entry point is called 'nameless'" in p for p in problems)
    assert any("config_model" in p for p in problems)
    assert any("no actions" in p for p in problems)
    (problem,) = validate_connector_class(_Reference, "other_name")
    assert "'reference'" in problem and "'other_name'" in problem


def test_objects_that_are_not_connectors_are_refused() -> None:
    for thing in (
        object,
        len,
        "accounting",
        MockAccountingConnector({"database_url": "sqlite://"}),
    ):
        (problem,) = validate_connector_class(thing, "accounting")
        assert "not a subclass of connectors.base.Connector" in problem


def test_a_kind_action_left_unimplemented_or_undeclared_is_reported() -> None:
    class Empty(AccountingConnector):
        name = "empty"
        config_model = _Config

    (problem,) = [p for p in validate_connector_class(Empty, "empty") if "implement" in p]
    assert "create_bill" in problem and "void_bill" in problem
    with pytest.raises(TypeError):
        Empty()  # type: ignore[abstract]

    class Partial(MockAccountingConnector):
        async def get_vendor(self, request: VendorRef) -> Any:  # not an @action
            return None

    Partial.get_bill = None  # type: ignore[assignment,method-assign]

    problems = validate_connector_class(Partial, "accounting")
    assert "get_vendor is not declared with @action" in problems
    assert any("get_bill" in p for p in problems)


def test_a_write_declared_as_a_read_breaks_the_kind_contract() -> None:
    class ReadOnlyPosting(MockAccountingConnector):
        @action()
        async def post_bill(self, request: BillRef) -> Any:
            """Post."""

    problems = validate_connector_class(ReadOnlyPosting, "accounting")
    assert "post_bill must be declared with side_effect=True, as its kind says" in problems


def test_load_connectors_reports_broken_plugins_and_keeps_the_good_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry_points = [
        FakeEntryPoint(
            "accounting", "connectors.accounting:MockAccountingConnector", MockAccountingConnector
        ),
        FakeEntryPoint("broken", "thirdparty.broken:Connector", error=ImportError("no module")),
        FakeEntryPoint("crashing", "thirdparty.crash:C", error=RuntimeError("boom at import")),
        FakeEntryPoint("wrong", "thirdparty:Reference", _Reference),
        FakeEntryPoint("notaclass", "thirdparty:helper", len),
    ]
    with caplog.at_level(logging.WARNING, logger="connectors.registry"):
        found = load_connectors(entry_points)

    assert set(found) == {"accounting", "broken", "crashing", "wrong", "notaclass"}
    accounting = found["accounting"]
    assert accounting.ok and accounting.kind == "accounting"
    assert accounting.cls is MockAccountingConnector
    assert accounting.actions["create_bill"].undo == "void_bill"
    assert found["broken"].problems == [
        "cannot load 'thirdparty.broken:Connector': ImportError: no module"
    ]
    assert "RuntimeError: boom at import" in found["crashing"].problems[0]
    assert not found["wrong"].ok and found["wrong"].cls is _Reference
    assert found["notaclass"].cls is None and not found["notaclass"].ok
    assert "boom at import" in caplog.text


def test_a_second_registration_does_not_replace_a_working_one() -> None:
    found = load_connectors(
        [
            FakeEntryPoint("reference", "a:Reference", _Reference),
            FakeEntryPoint("reference", "b:Broken", error=ImportError("x")),
        ]
    )
    assert found["reference"].ok and found["reference"].cls is _Reference


def test_create_validates_the_config_and_refuses_unusable_connectors() -> None:
    found = load_connectors([FakeEntryPoint("reference", "a:Reference", _Reference)])
    connector = found["reference"].create({"url": "memory://x"})
    assert isinstance(connector, _Reference) and connector.config.url == "memory://x"
    broken = load_connectors([FakeEntryPoint("x", "x:y", error=ImportError("x"))])["x"]
    with pytest.raises(RuntimeError, match="unusable"):
        broken.create({})


def test_the_installed_package_registers_the_accounting_connector() -> None:
    found = load_connectors()
    if "accounting" not in found:
        pytest.skip("bpa-suite is not installed (pip install -e .)")
    assert found["accounting"].ok, found["accounting"].problems
