"""The suite's database engine: its tables (runs, events, approvals, schedules, API keys) and,
unless one is configured with its own `database_url`, the mocked systems' tables."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Engine, Table, create_engine, event, inspect

from bpa.config import Settings
from bpa.sqlite import configure_connection

__all__ = ["create_schema", "make_engine", "open_engine", "redis_feed_url", "table_of"]


def table_of(model: type[Any]) -> Table:
    """The `Table` of a SQLModel table class (which SQLModel does not declare to type checkers)."""
    return cast(Table, inspect(model).local_table)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets the settings that make concurrent use safe (WAL, busy
    timeout, foreign keys), PostgreSQL a pool that checks connections before use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            configure_connection(dbapi_conn)

        return engine
    return create_engine(url, pool_pre_ping=True)


def open_engine(settings: Settings) -> Engine:
    """The engine of the settings' database. With a Redis broker and a database that cannot
    notify by itself (not PostgreSQL), its commits tell followers which runs changed
    (bpa/runs/changes.py)."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        settings.ensure_home()
    engine = make_engine(url)
    if redis_feed_url(settings, engine) is not None:
        from bpa.runs.changes import publish_changes, redis_publisher

        publish_changes(engine, redis_publisher(settings.broker_url or ""))
    return engine


def redis_feed_url(settings: Settings, engine: Engine) -> str | None:
    """The Redis that carries run changes: the broker, when it is Redis and the database is
    not PostgreSQL (which notifies by itself); else None."""
    broker = settings.broker_url or ""
    if engine.dialect.name == "postgresql" or not broker.startswith(("redis://", "rediss://")):
        return None
    return broker


def create_schema(engine: Engine) -> None:
    """Bring the engine's tables up to date (the Alembic migrations; the mocked systems create
    their own). Cheap when they already are, safe when several processes start at once."""
    from bpa.migrations import upgrade

    upgrade(engine)
