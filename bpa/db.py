"""Database engine for the suite's own tables (runs, events, approvals, schedules, API keys)."""

from __future__ import annotations

from sqlalchemy import Engine

from bpa.config import Settings
from connectors.sql import make_engine

__all__ = ["create_schema", "open_engine"]


def open_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url()
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        settings.ensure_home()
    return make_engine(url)


def create_schema(engine: Engine) -> None:
    """Bring the engine's tables up to date (the Alembic migrations; the mocked systems create
    their own). Cheap when they already are, safe when several processes start at once."""
    from bpa.migrations import upgrade

    upgrade(engine)
