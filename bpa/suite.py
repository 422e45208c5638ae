"""Assembles the engine from settings: database, checkpointer, flows, connectors, models.

`Records` is the light part: the database's runs and schedules, for commands that only read
them. The engine's heavy parts (LangGraph, the flows and their libraries, model backends,
connectors) are imported by `Suite.open`, not by importing this module.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.documents import DocumentStore
from bpa.flows import Flow, FlowInfo, FlowRegistry
from bpa.redaction import Redactor
from bpa.runs.store import RunStore
from bpa.schedules import ScheduleStore

if TYPE_CHECKING:
    from bpa.resilience import ConnectorGuard
    from bpa.runs.runner import Runner
    from connectors.base import Connector
    from connectors.faults import FaultInjector
    from connectors.registry import ConnectorInfo

__all__ = [
    "ENGINE_SECTIONS",
    "Records",
    "Suite",
    "connector_config",
    "guard_connector",
    "start_connector",
]

#: Entries of a connector's BPA_CONNECTORS configuration that the engine reads, not the
#: connector: ``faults`` (connectors/faults.py) and ``resilience`` (bpa/resilience.py).
ENGINE_SECTIONS = ("faults", "resilience")


def connector_config(settings: Settings, cls: type[Connector], name: str) -> dict[str, Any]:
    """Defaults a connector gets from the suite (database, seed folder), then its own config."""
    fields = set(cls.config_model.model_fields) if cls.config_model else set()
    config: dict[str, Any] = {}
    if "database_url" in fields:
        config["database_url"] = settings.resolved_database_url()
    seed = settings.fixtures_dir / name
    if "seed" in fields and seed.is_dir():
        config["seed"] = str(seed)
    own = settings.connectors.get(name, {})
    config.update({key: value for key, value in own.items() if key not in ENGINE_SECTIONS})
    return config


def guard_connector(
    settings: Settings, connector: Connector
) -> tuple[ConnectorGuard | None, FaultInjector | None]:
    """Put a started connector behind the faults its configuration asks for, and build its
    guard (retries, rate limit, circuit breaker): the defaults, changed by its ``resilience``
    entry, or none when that entry is ``false``.
    `ConnectorConfigError` (one line) when either entry does not fit."""
    from bpa.resilience import load_guard
    from connectors.faults import inject_faults

    entry = settings.connectors.get(connector.name, {})
    faults = inject_faults(connector, entry["faults"]) if "faults" in entry else None
    resilience = entry.get("resilience", {})  # on by default; `false` turns it off
    guarded = None if resilience is False else load_guard(connector.name, resilience)
    return guarded, faults


def _takes_engine(cls: type[Connector]) -> bool:
    """Whether the class accepts the host's engine (an `engine` keyword, see connectors/sql.py)."""
    try:
        parameter = inspect.signature(cls).parameters.get("engine")
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )


def start_connector(
    settings: Settings, cls: type[Connector], name: str, engine: Engine
) -> Connector:
    """The connector with its config; it shares the suite's `engine` (which the suite disposes)
    when it takes one and BPA_CONNECTORS names no `database_url` of its own for it."""
    config = cls.load_config(connector_config(settings, cls, name))
    if _takes_engine(cls) and "database_url" not in settings.connectors.get(name, {}):
        return cls(config, engine=engine)  # type: ignore[call-arg]
    return cls(config)


@dataclass
class Records:
    """The suite's database without its engine: runs (with their audit trails and approvals)
    and schedules. What read-only commands open: no flows, models, connectors or checkpoints."""

    settings: Settings
    engine: Engine
    store: RunStore
    schedules: ScheduleStore

    @classmethod
    @contextmanager
    def open(cls, settings: Settings | None = None) -> Iterator[Records]:
        settings = settings or Settings()
        engine = open_engine(settings)
        try:
            create_schema(engine)
            yield cls(settings, engine, RunStore(engine), ScheduleStore(engine))
        finally:
            engine.dispose()


@dataclass
class Suite:
    settings: Settings
    engine: Engine
    store: RunStore
    schedules: ScheduleStore
    documents: DocumentStore
    #: Every installed flow by name; a `FlowRegistry` imports each on first lookup.
    flow_infos: Mapping[str, FlowInfo]
    connector_infos: dict[str, ConnectorInfo]
    connector_problems: dict[str, str]
    runner: Runner
    #: Masks the settings' secrets in anything shown about connectors and runs.
    redactor: Redactor = field(default_factory=Redactor)
    #: The fault injectors of connectors configured with ``faults`` (what they dealt).
    faults: dict[str, FaultInjector] = field(default_factory=dict)

    @property
    def guards(self) -> dict[str, ConnectorGuard]:
        """Retries, rate limit and circuit breaker of each connector configured with them."""
        return self.runner.guards

    @property
    def flows(self) -> Mapping[str, Flow]:
        return self.runner.flows

    @property
    def connectors(self) -> dict[str, Connector]:
        return self.runner.connectors

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: Settings | None = None, *, preload_flows: bool = True
    ) -> AsyncIterator[Suite]:
        """The whole engine, closed on exit. `preload_flows=False` imports each flow when a
        run first needs it (a command that runs one flow pays for that one only)."""
        from bpa.checkpoints import open_checkpointer, open_memory_store
        from bpa.models import ModelGateway, make_backend
        from bpa.runs.runner import Runner
        from connectors.registry import load_connectors

        settings = settings or Settings()
        settings.ensure_home()
        engine = open_engine(settings)
        create_schema(engine)
        store = RunStore(engine)
        documents = DocumentStore(
            settings.home / "documents", max_bytes=settings.max_document_bytes
        )
        flow_infos = FlowRegistry()
        if preload_flows:
            flow_infos.load_all()
        connector_infos = load_connectors()
        redactor = Redactor.from_settings(settings)
        connectors: dict[str, Connector] = {}
        guards: dict[str, ConnectorGuard] = {}
        faults: dict[str, FaultInjector] = {}
        problems: dict[str, str] = {}
        for name, info in connector_infos.items():
            if info.problems or info.cls is None:
                problems[name] = "; ".join(info.problems) or "not loadable"
                continue
            try:
                connector = start_connector(settings, info.cls, name, engine)
            except Exception as exc:  # report, keep the rest of the suite usable
                problems[name] = f"failed to start: {redactor.error(exc)}"
                continue
            try:
                guarded, injector = guard_connector(settings, connector)
            except Exception as exc:
                await connector.aclose()
                problems[name] = f"failed to start: {redactor.error(exc)}"
                continue
            connectors[name] = connector
            if guarded is not None:
                guards[name] = guarded
            if injector is not None:
                faults[name] = injector
        models = ModelGateway(make_backend(settings))
        try:
            async with (
                open_checkpointer(settings) as checkpointer,
                open_memory_store(settings) as memory,
            ):
                runner = Runner(
                    settings=settings,
                    store=store,
                    flows=flow_infos.flows,
                    connectors=connectors,
                    models=models,
                    documents=documents,
                    checkpointer=checkpointer,
                    memory=memory,
                    guards=guards,
                    redactor=redactor,
                )
                yield cls(
                    settings=settings,
                    engine=engine,
                    store=store,
                    schedules=ScheduleStore(engine),
                    documents=documents,
                    flow_infos=flow_infos,
                    connector_infos=connector_infos,
                    connector_problems=problems,
                    runner=runner,
                    redactor=redactor,
                    faults=faults,
                )
        finally:
            for connector in connectors.values():
                await connector.aclose()
            engine.dispose()
