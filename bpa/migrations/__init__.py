"""Schema changes of the engine's own tables, as Alembic migrations (`bpa db upgrade`).

They ship inside the package, so an installed suite can upgrade its database. The mocked
systems (connectors) create their own tables and are not migrated here.

`upgrade` is safe when several processes start at once: on PostgreSQL it holds an advisory
lock, on SQLite a write transaction (BEGIN IMMEDIATE), while it checks and migrates.
A database created before migrations existed (tables but no `alembic_version`) is stamped
with the baseline first, then upgraded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, MetaData, String, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "BASELINE",
    "ENGINE_TABLES",
    "HEAD",
    "compare_type",
    "current_revision",
    "engine_metadata",
    "head_revision",
    "unmigrated_changes",
    "upgrade",
]

BASELINE = "0001"
#: The newest revision; lets a process skip importing Alembic when the database is current.
#: (tests/bpa/test_postgres.py checks it against the scripts.)
HEAD = "0010"
ENGINE_TABLES = frozenset(
    {
        "bpa_runs",
        "bpa_run_events",
        "bpa_approvals",
        "bpa_schedules",
        "bpa_schedule_firings",
        "bpa_api_keys",
        "bpa_workers",
        "bpa_effects",
        "bpa_flow_versions",
        "bpa_audit_journal",
        "bpa_reply_keys",
    }
)
_LOCK_KEY = 0x62_70_61_5F_6D_69_67  # "bpa_mig": any constant, shared by every process


def engine_metadata() -> MetaData:
    """The SQLModel metadata with every engine table registered."""
    from sqlmodel import SQLModel

    import bpa.auth
    import bpa.effects
    import bpa.runs.replies
    import bpa.runs.tables
    import bpa.runs.versions
    import bpa.schedules
    import bpa.worker.heartbeats  # noqa: F401  (importing registers the tables)

    return SQLModel.metadata


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _current(connection)


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the engine's tables to `revision`; returns (revision before, revision after)."""
    if revision in ("head", HEAD):
        with engine.connect() as connection:
            current = _current(connection)
        if current == HEAD:
            return current, current
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        _lock(connection)
        context = MigrationContext.configure(connection)
        before = context.get_current_revision()
        if before is None and inspect(connection).has_table("bpa_runs"):
            command.stamp(_config(connection), BASELINE)
            before = BASELINE
        command.upgrade(_config(connection), revision)
        after = MigrationContext.configure(connection).get_current_revision()
        connection.commit()
    return before, after


def unmigrated_changes(engine: Engine) -> list[object]:
    """Differences between the models and the migrated database (empty when every model
    change has its migration); Alembic's autogenerate diff, for the engine's tables only."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def include(obj: object, name: str | None, type_: str, *_: object) -> bool:
        return type_ != "table" or name in ENGINE_TABLES

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": compare_type, "include_object": include}
        )
        return list(compare_metadata(context, engine_metadata()))


def compare_type(
    context: Any, inspected: Any, metadata: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    """Alembic's type comparison (None: its own), except that on SQLite two string types are
    the same: SQLite keeps text of any length in any of them, so a declared length (an enum
    column whose longest value grew, as `runstatus` in 0008) is no schema change there."""
    strings = isinstance(inspected_type, String) and isinstance(metadata_type, String)
    return False if strings and context.dialect.name == "sqlite" else None


def _lock(connection: Connection) -> None:
    """Serialise migrations across processes for the rest of this transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
