"""Assembles the engine from settings: database, checkpointer, flows, connectors, models."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bpa.checkpoints import open_checkpointer, open_memory_store
from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.documents import DocumentStore
from bpa.flows import Flow, FlowInfo, load_flows
from bpa.models import ModelGateway, make_backend
from bpa.redaction import Redactor
from bpa.runs.runner import Runner
from bpa.runs.store import RunStore
from bpa.schedules import ScheduleStore
from connectors.base import Connector
from connectors.registry import ConnectorInfo, load_connectors

__all__ = ["Suite", "connector_config", "start_connector"]


def connector_config(settings: Settings, cls: type[Connector], name: str) -> dict[str, Any]:
    """Defaults a connector gets from the suite (database, seed folder), then its own config."""
    fields = set(cls.config_model.model_fields) if cls.config_model else set()
    config: dict[str, Any] = {}
    if "database_url" in fields:
        config["database_url"] = settings.resolved_database_url()
    seed = settings.fixtures_dir / name
    if "seed" in fields and seed.is_dir():
        config["seed"] = str(seed)
    config.update(settings.connectors.get(name, {}))
    return config


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
    config = connector_config(settings, cls, name)
    if _takes_engine(cls) and "database_url" not in settings.connectors.get(name, {}):
        return cls(config, engine=engine)  # type: ignore[call-arg]
    return cls(config)  # type: ignore[call-arg]


@dataclass
class Suite:
    settings: Settings
    engine: Engine
    store: RunStore
    schedules: ScheduleStore
    documents: DocumentStore
    flow_infos: dict[str, FlowInfo]
    connector_infos: dict[str, ConnectorInfo]
    connector_problems: dict[str, str]
    runner: Runner
    #: Masks the settings' secrets in anything shown about connectors and runs.
    redactor: Redactor = field(default_factory=Redactor)

    @property
    def flows(self) -> dict[str, Flow]:
        return self.runner.flows

    @property
    def connectors(self) -> dict[str, Connector]:
        return self.runner.connectors

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings | None = None) -> AsyncIterator[Suite]:
        settings = settings or Settings()
        settings.ensure_home()
        engine = open_engine(settings)
        create_schema(engine)
        store = RunStore(engine)
        documents = DocumentStore(
            settings.home / "documents", max_bytes=settings.max_document_bytes
        )
        flow_infos = load_flows()
        flows = {name: info.flow for name, info in flow_infos.items() if info.flow is not None}
        connector_infos = load_connectors()
        redactor = Redactor.from_settings(settings)
        connectors: dict[str, Connector] = {}
        problems: dict[str, str] = {}
        for name, info in connector_infos.items():
            if info.problems or info.cls is None:
                problems[name] = "; ".join(info.problems) or "not loadable"
                continue
            try:
                connectors[name] = start_connector(settings, info.cls, name, engine)
            except Exception as exc:  # report, keep the rest of the suite usable
                problems[name] = f"failed to start: {redactor.error(exc)}"
        models = ModelGateway(make_backend(settings))
        try:
            async with (
                open_checkpointer(settings) as checkpointer,
                open_memory_store(settings) as memory,
            ):
                runner = Runner(
                    settings=settings,
                    store=store,
                    flows=flows,
                    connectors=connectors,
                    models=models,
                    documents=documents,
                    checkpointer=checkpointer,
                    memory=memory,
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
                )
        finally:
            for connector in connectors.values():
                await connector.aclose()
            engine.dispose()
