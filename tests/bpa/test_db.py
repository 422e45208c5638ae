"""The suite's engine: every SQLite connection is set up for concurrent use (bpa/sqlite.py),
and a connector building its own engine (connectors/sql.py) gets the same settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bpa.db import make_engine
from connectors.sql import make_engine as make_connector_engine

MAKERS = pytest.mark.parametrize(
    "make", [make_engine, make_connector_engine], ids=["suite", "connector's own"]
)


@MAKERS
def test_file_databases_run_in_wal_mode_and_checkpoint_themselves(
    tmp_path: Path, make: Callable[[str], Engine]
) -> None:
    engine = make(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == 1000
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        engine.dispose()


@MAKERS
def test_in_memory_databases_stay_in_memory(make: Callable[[str], Engine]) -> None:
    engine = make("sqlite:///:memory:")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "memory"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        engine.dispose()
