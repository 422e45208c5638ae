"""WAL checkpoints on a background thread in long-running processes (connectors/sqlite.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from connectors.sql import make_engine
from connectors.sqlite import checkpoint_in_background, stop_background_checkpoints


@pytest.fixture
def background() -> Iterator[None]:
    checkpointer = checkpoint_in_background(interval=3600)  # rounds only when the test asks
    try:
        yield
    finally:
        assert checkpointer is not None
        stop_background_checkpoints()


def autocheckpoint(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())
    finally:
        engine.dispose()


def test_connections_checkpoint_themselves_by_default(tmp_path: Path) -> None:
    assert autocheckpoint(f"sqlite:///{tmp_path / 'a.db'}") == 1000


def test_background_thread_takes_over_the_checkpoints(tmp_path: Path, background: None) -> None:
    path = tmp_path / "b.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == 0
            conn.execute(text("CREATE TABLE t (x TEXT)"))
        for i in range(200):
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 500 + str(i)})
        checkpointer = checkpoint_in_background()
        assert str(path) in checkpointer.watched()
        checkpointer.checkpoint_now()
        assert checkpointer.checkpoints >= 1 and checkpointer.pages > 0
        with engine.connect() as conn:  # everything is in the database file now
            _busy, logged, copied = conn.execute(text("PRAGMA wal_checkpoint(PASSIVE)")).one()
            assert logged == copied
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 200
    finally:
        engine.dispose()


def test_in_memory_databases_are_left_alone(background: None) -> None:
    assert autocheckpoint("sqlite:///:memory:") == 1000
    assert checkpoint_in_background().watched() == []
