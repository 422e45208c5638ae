"""SQLite settings for concurrent use: every connection waits for locks, runs in WAL mode
(readers never block the writer) and enforces foreign keys. `bpa.db.make_engine` applies
them to every connection of the suite's engine, which the mocked systems share.

Checkpoints (SQLite copying the log back into the database file) stay SQLite's own: the
connection whose commit passes 1,000 logged pages does it. No process here is so sensitive
to that pause that it needs a thread for it: requests only record and read, and runs
execute in worker processes.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

__all__ = ["configure_connection"]


def _enable_wal(cursor: Any) -> bool:
    """Switch a new database file to WAL once (the mode then sticks to the file); True if the
    database is in WAL mode (an in-memory one is not).

    Switching needs a moment of exclusive access and SQLite does not wait for it (no busy
    handler), so connections opening a fresh file at the same time retry briefly.
    """
    mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    if mode in ("wal", "memory"):
        return mode == "wal"
    for attempt in range(100):
        try:
            return str(cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower() == "wal"
        except sqlite3.OperationalError:
            if attempt == 99:
                raise
            time.sleep(0.02)
    return False  # pragma: no cover - the loop returns or raises


def configure_connection(dbapi_conn: sqlite3.Connection) -> None:
    """Settings for every new connection: wait for locks, WAL, foreign keys."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=30000")
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()
