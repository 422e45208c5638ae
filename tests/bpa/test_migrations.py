"""Alembic migrations on SQLite: they build the models' schema, upgrade databases made before
migrations existed, and tolerate two processes starting at once."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from bpa.cli import app
from bpa.db import create_schema, make_engine
from bpa.migrations import (
    BASELINE,
    HEAD,
    current_revision,
    head_revision,
    unmigrated_changes,
    upgrade,
)


def sqlite(path: Path) -> Engine:
    return make_engine(f"sqlite:///{path}")


def test_head_constant_names_the_newest_script() -> None:
    assert head_revision() == HEAD


def test_a_fresh_database_gets_exactly_the_models_schema(tmp_path: Path) -> None:
    engine = sqlite(tmp_path / "bpa.db")
    assert upgrade(engine) == (None, HEAD)
    assert unmigrated_changes(engine) == [], "every model change needs a migration"
    assert upgrade(engine) == (HEAD, HEAD), "running it again changes nothing"


def test_a_database_from_before_migrations_is_stamped_then_upgraded(tmp_path: Path) -> None:
    engine = sqlite(tmp_path / "bpa.db")
    upgrade(engine, BASELINE)
    with engine.begin() as conn:  # what `create_all` used to leave behind: no version table
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(
            text(
                "INSERT INTO bpa_runs (id, flow, flow_version, status, trigger, input, attempts, "
                "created_at, updated_at) VALUES ('run_old', 'f', '1', 'succeeded', 'cli', '{}', 1, "
                "'2025-01-01 00:00:00', '2025-01-01 00:00:00')"
            )
        )
    create_schema(engine)
    assert current_revision(engine) == HEAD
    columns = {c["name"] for c in inspect(engine).get_columns("bpa_runs")}
    assert {"claimed_by", "lease_until"} <= columns
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM bpa_runs")).scalar() == "succeeded"


def test_two_processes_upgrading_at_once_do_not_collide(tmp_path: Path) -> None:
    path = tmp_path / "bpa.db"
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def migrate() -> None:
        barrier.wait()
        try:
            upgrade(sqlite(path))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert current_revision(sqlite(path)) == HEAD


def test_downgrade_to_the_baseline_and_up_again(tmp_path: Path) -> None:
    from alembic import command

    from bpa.migrations import _config

    engine = sqlite(tmp_path / "bpa.db")
    upgrade(engine)
    with engine.connect() as conn:
        command.downgrade(_config(conn), BASELINE)
        conn.commit()
    assert current_revision(engine) == BASELINE
    assert not inspect(engine).has_table("bpa_schedules")
    upgrade(engine)
    assert unmigrated_changes(engine) == []


def test_cli_db_upgrade_and_current(tmp_path: Path) -> None:
    cli = CliRunner()
    first = cli.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0 and f"empty -> {HEAD}" in first.output
    again = cli.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0 and "already at revision" in again.output
    assert "up to date" in cli.invoke(app, ["db", "current"]).output
