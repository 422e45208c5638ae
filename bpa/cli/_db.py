"""`bpa db ...`: the engine's database schema (Alembic migrations shipped in bpa/migrations)."""

from __future__ import annotations

from typing import Annotated

import typer

from bpa.cli._common import console, err
from bpa.config import Settings
from bpa.db import open_engine

__all__ = ["db_app"]

db_app = typer.Typer(
    help="The database of runs, schedules and keys (BPA_DATABASE_URL: SQLite or PostgreSQL).",
    no_args_is_help=True,
)


@db_app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Option(help="Target revision")] = "head",
) -> None:
    """Apply the schema migrations (safe to run again, and from several machines at once)."""
    from bpa.migrations import upgrade as migrate

    settings = Settings()
    engine = open_engine(settings)
    try:
        before, after = migrate(engine, revision)
    except Exception as exc:  # a wrong URL or an unreachable server: say which, exit 1
        err.print(f"[red]error:[/red] cannot upgrade {engine.url!r}: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if before == after:
        console.print(f"{engine.url!r}: already at revision {after}")
    else:
        console.print(f"{engine.url!r}: upgraded {before or 'empty'} -> {after}")


@db_app.command("current")
def current() -> None:
    """Show the database's schema revision and the newest one this version knows."""
    from bpa.migrations import current_revision, head_revision

    engine = open_engine(Settings())
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if revision == head else "run `bpa db upgrade`"
    console.print(f"{engine.url!r}: revision {revision or 'none'} (newest {head}; {state})")


@db_app.command("revision", hidden=True)
def revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the change is")],
) -> None:
    """(For developers of the suite) Write the next migration from the models' differences
    with the configured database, brought to the newest revision first."""
    from alembic import command

    from bpa.migrations import HEAD, _config
    from bpa.migrations import upgrade as migrate

    engine = open_engine(Settings())
    migrate(engine)
    with engine.connect() as connection:
        script = command.revision(
            _config(connection),
            message=message,
            autogenerate=True,
            rev_id=f"{int(HEAD) + 1:04d}",
        )
    engine.dispose()
    path = getattr(script, "path", script)
    console.print(f"wrote {path}; review it, then set HEAD in bpa/migrations/__init__.py")
