"""SQLite settings for concurrent use, and WAL checkpoints off the request path.

Every SQLite database here runs in WAL mode. By default SQLite copies the log back into the
database file ("checkpoints") from whichever connection commits when the log passes 1,000
pages, and that commit then waits for the copy and its fsync: tens of milliseconds, every
hundred or so commits. A long-running server (`bpa serve`, `bpa scheduler`) calls
`checkpoint_in_background()` first; its connections then never checkpoint themselves, and
one thread does it for all of them, so no request or run step waits for the disk.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

__all__ = [
    "WalCheckpointer",
    "checkpoint_in_background",
    "configure_connection",
    "stop_background_checkpoints",
]

log = logging.getLogger("bpa.sqlite")

#: The process's background checkpointer, once started.
_checkpointer: WalCheckpointer | None = None
_lock = threading.Lock()


def _enable_wal(cursor: Any) -> bool:
    """Switch a new database file to WAL once (the mode then sticks to the file); True if the
    database is in WAL mode (an in-memory one is not).

    Switching needs a moment of exclusive access and SQLite does not wait for it (no busy
    handler), so connections opening a fresh file at the same time retry briefly.
    """
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0].lower()
    if mode in ("wal", "memory"):
        return mode == "wal"
    for attempt in range(100):
        try:
            return cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal"
        except sqlite3.OperationalError:
            if attempt == 99:
                raise
            time.sleep(0.02)
    return False  # pragma: no cover - the loop returns or raises


def configure_connection(dbapi_conn: sqlite3.Connection) -> None:
    """Settings for every new connection: wait for locks, WAL, foreign keys; and, in a process
    that checkpoints in the background, hand this database's checkpoints to that thread."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=30000")
        wal = _enable_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        checkpointer = _checkpointer
        if wal and checkpointer is not None:
            path = cur.execute("PRAGMA database_list").fetchone()[2]
            if path:
                cur.execute("PRAGMA wal_autocheckpoint=0")
                checkpointer.watch(path)
    finally:
        cur.close()


class WalCheckpointer:
    """Checkpoints the WAL of every database it watches, every `interval` seconds, on a daemon
    thread with a connection of its own (a PASSIVE checkpoint: it never blocks a reader or a
    writer)."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self._paths: dict[str, sqlite3.Connection | None] = {}
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="bpa-wal-checkpoint", daemon=True)
        self._thread.start()
        #: Checkpoints done, and pages copied back, since start (for tests and diagnostics).
        self.checkpoints = 0
        self.pages = 0

    def watch(self, path: str) -> None:
        with _lock:
            self._paths.setdefault(path, None)

    def watched(self) -> list[str]:
        with _lock:
            return list(self._paths)

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)

    def checkpoint_now(self) -> None:
        """One round over every watched database (the thread calls this every interval)."""
        for path in self.watched():
            try:
                self._checkpoint(path)
            except sqlite3.Error as exc:  # a removed file, a locked disk: try next round
                log.warning("WAL checkpoint of %s failed: %s", path, exc)
                self._close(path)

    def _checkpoint(self, path: str) -> None:
        conn = self._paths.get(path)
        if conn is None:
            conn = sqlite3.connect(path, timeout=0, check_same_thread=False)
            self._paths[path] = conn
        _busy, logged, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if logged > 0 and copied > 0:
            self.checkpoints += 1
            self.pages += copied

    def _close(self, path: str) -> None:
        conn = self._paths.get(path)
        if conn is not None:
            conn.close()
            self._paths[path] = None

    def _loop(self) -> None:
        while not self._stop:
            self._wake.wait(self.interval)
            self.checkpoint_now()
        for path in self.watched():
            self._close(path)


def checkpoint_in_background(interval: float = 0.5) -> WalCheckpointer:
    """From now on, SQLite connections this process opens leave checkpoints to one background
    thread (started here, once per process; later calls return the same one)."""
    global _checkpointer
    with _lock:
        if _checkpointer is None:
            _checkpointer = WalCheckpointer(interval)
        return _checkpointer


def stop_background_checkpoints() -> None:
    """Connections opened from now on checkpoint themselves again (for tests)."""
    global _checkpointer
    with _lock:
        checkpointer, _checkpointer = _checkpointer, None
    if checkpointer is not None:
        checkpointer.stop()
