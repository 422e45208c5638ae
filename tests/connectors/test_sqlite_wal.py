"""Every SQLite connection is configured for concurrent use (connectors/sqlite.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from connectors.sql import make_engine


def test_file_databases_run_in_wal_mode_and_checkpoint_themselves(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == 1000
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        engine.dispose()


def test_in_memory_databases_stay_in_memory() -> None:
    engine = make_engine("sqlite:///:memory:")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "memory"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        engine.dispose()
