"""Database engine for the suite's own tables (runs, events, approvals)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import SQLModel

from bpa.config import Settings
from connectors.sql import make_engine

__all__ = ["create_schema", "open_engine"]


def open_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url()
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        settings.ensure_home()
    return make_engine(url)


def create_schema(engine: Engine) -> None:
    """Create the engine's tables if missing (the mocked systems create their own)."""
    from bpa.runs import tables

    SQLModel.metadata.create_all(
        engine, tables=[tables.Run.__table__, tables.RunEvent.__table__, tables.Approval.__table__]
    )
