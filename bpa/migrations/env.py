"""Alembic environment: runs on the connection `bpa.migrations` hands in, or, when started
by the `alembic` command itself, on the suite's configured database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bpa.migrations import ENGINE_TABLES, compare_type, engine_metadata


def _include(obj: object, name: str | None, type_: str, *_: object) -> bool:
    return type_ != "table" or name in ENGINE_TABLES


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=engine_metadata(),
        include_object=_include,
        compare_type=compare_type,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    from bpa.config import Settings
    from bpa.db import open_engine

    with open_engine(Settings()).begin() as own:
        _run(own)
else:
    _run(connection)
