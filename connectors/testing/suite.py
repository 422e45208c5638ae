"""The conformance tests every connector passes, whatever its kind.

Subclass the kind's suite (e.g. `AccountingConnectorTests`) in a test module, set
``connector_class`` and ``config`` (string values may contain ``{tmp_path}``) or override
the ``connector_config`` fixture, and pytest runs the whole contract against it. The
suite uses pytest-asyncio markers explicitly, so it runs in its strict mode too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar, cast

import pytest
import pytest_asyncio
from pydantic import BaseModel
from sqlalchemy import Engine

from bpa.db import make_engine, table_of
from bpa.effects import EffectLedger, EffectRecord, LedgerEntry, insert_entries
from bpa.runs.context import AuditedConnector
from connectors.base import Connector, Done, Irreversible
from connectors.errors import Rejected
from connectors.registry import validate_connector_class

__all__ = ["ConnectorTests", "new_key", "undo_call"]


class _LedgerOnly:
    """The effect sink of a connector tested outside a run: no audit trail, only the
    engine's ledger rows."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, kind: str, payload: dict[str, Any], **_: Any) -> None:
        pass

    def begin_effect(self, payload: dict[str, Any], *, node: str | None) -> bool:
        return True

    def end_effect(
        self,
        payload: dict[str, Any],
        *,
        node: str | None,
        duration_ms: float | None,
        entry: LedgerEntry | None = None,
        at_once: bool = False,
    ) -> None:
        if entry is not None:
            with self._engine.begin() as conn:
                insert_entries(conn, [entry])

    def unwritten(self, connector: str, key: str) -> LedgerEntry | None:
        return None  # every row is written at once


def new_key(purpose: str = "conformance") -> str:
    """A fresh idempotency key, so tests never collide on a shared sandbox."""
    return f"{purpose}-{uuid.uuid4().hex}"


async def undo_call(connector: Any, action: str, request: BaseModel, result: Any, key: str) -> Any:
    """Undo one call (made under `key`) with the undo the connector declares for `action`,
    as a rollback does; the undo's result, or `Irreversible` when there is none."""
    done = Done(
        action=action, request=request, result=result, idempotency_key=key, reason="conformance"
    )
    return await connector.undo(done)


class ConnectorTests:
    """Generic checks: declaration, registry rules, idempotency keys, health."""

    __test__ = False

    #: The connector under test.
    connector_class: ClassVar[type[Connector]]
    #: Its config; ``{tmp_path}`` in a string value becomes the test's temporary directory.
    config: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Collect only concrete subclasses, never the suite's own base classes.
        if "__test__" not in vars(cls):
            cls.__test__ = getattr(cls, "connector_class", None) is not None

    @pytest.fixture
    def connector_config(self, tmp_path: Path) -> dict[str, Any]:
        """The config the connector is built with; override for resources set up per test."""
        return {
            key: value.replace("{tmp_path}", str(tmp_path)) if isinstance(value, str) else value
            for key, value in self.config.items()
        }

    @pytest_asyncio.fixture
    async def connector(
        self, connector_config: dict[str, Any], tmp_path: Path
    ) -> AsyncIterator[Connector]:
        """The connector as flows get it: behind the engine's idempotency ledger (a SQLite
        file of this test), so the suite checks what a run relies on, for a system that
        honours keys itself and for one that does not."""
        instance = self.connector_class(connector_config)
        ledger = make_engine(f"sqlite:///{tmp_path / 'bpa-effects.db'}")
        table_of(EffectRecord).create(ledger)
        try:
            yield cast(
                Connector, AuditedConnector(instance, _LedgerOnly(ledger), EffectLedger(ledger))
            )
        finally:
            await instance.aclose()
            ledger.dispose()

    def test_declares_name_and_kind(self) -> None:
        assert isinstance(self.connector_class.name, str) and self.connector_class.name
        assert isinstance(self.connector_class.kind, str) and self.connector_class.kind

    def test_passes_registry_validation(self) -> None:
        cls = self.connector_class
        assert validate_connector_class(cls, cls.name) == []

    def test_config_model_accepts_the_config(self, connector_config: dict[str, Any]) -> None:
        model = self.connector_class.config_model
        assert model is not None
        assert isinstance(model.model_validate(connector_config), BaseModel)

    def test_actions_take_one_pydantic_request_and_say_what_they_do(self) -> None:
        specs = self.connector_class.action_specs()
        assert specs, "a connector needs at least one @action"
        for spec in specs.values():
            assert issubclass(spec.request, BaseModel), spec.name
            assert spec.description, f"{spec.name} has no docstring (agents and UIs show it)"
            json.dumps(spec.describe())  # the catalogue the API and UI publish

    @pytest.mark.asyncio
    async def test_side_effects_require_an_idempotency_key(self, connector: Connector) -> None:
        writes = [s for s in self.connector_class.action_specs().values() if s.side_effect]
        for spec in writes:
            method = getattr(connector, spec.name)
            for missing in ({}, {"idempotency_key": ""}):
                with pytest.raises(Rejected) as refused:
                    await method({}, **missing)
                assert refused.value.code == "idempotency_key_missing", spec.name

    def test_every_side_effect_declares_its_undo(self) -> None:
        specs = self.connector_class.action_specs()
        for spec in specs.values():
            if not spec.side_effect:
                continue
            assert spec.undo is not None, spec.name
            if not isinstance(spec.undo, Irreversible):
                assert specs[spec.undo].side_effect, f"{spec.name}: its undo is a read"

    @pytest.mark.asyncio
    async def test_nothing_is_on_record_under_an_unused_key(self, connector: Connector) -> None:
        for spec in self.connector_class.action_specs().values():
            assert await connector.recorded(spec.name, new_key()) is None, spec.name

    @pytest.mark.asyncio
    async def test_health_reports(self, connector: Connector) -> None:
        health = await connector.health()
        assert isinstance(health, dict)
        json.dumps(health, default=str)
