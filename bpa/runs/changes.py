"""Telling followers a run changed, where the database cannot: Redis pub/sub.

On PostgreSQL the database itself notifies (triggers, migration 0009, api/notify.py). On
any other database with a Redis broker, every process that writes runs publishes the ids of
the runs its transaction changed on the same channel, after the commit, so a follower that
hears of a change and reads finds it. The single place that writes a run's trail and status
(`bpa/runs/chain.py::_append`) marks the connection; the engine's commit moves the marks to
"committed", a rollback drops them, and handing the connection back to the pool (which
happens after the commit) publishes them. A publish that fails costs followers latency
(they still poll), never correctness.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Connection, Engine, event

__all__ = ["CHANNEL", "mark_changed", "publish_changes", "redis_publisher"]

log = logging.getLogger("bpa.runs.changes")

#: The channel changes are told on (the same name as PostgreSQL's NOTIFY channel).
CHANNEL = "bpa_runs"
_PENDING = "bpa_changed_runs"
_COMMITTED = "bpa_committed_runs"

Publish = Callable[[Collection[str]], None]
_PUBLISHING: weakref.WeakSet[Engine] = weakref.WeakSet()


def mark_changed(conn: Connection, run_ids: Collection[str]) -> None:
    """Note that this transaction changes these runs (cheap; nothing listens by default)."""
    if run_ids and conn.engine in _PUBLISHING:
        conn.info.setdefault(_PENDING, set()).update(run_ids)


def publish_changes(engine: Engine, publish: Publish) -> None:
    """Call `publish(run_ids)` after each committed transaction of `engine` that changed runs."""

    def committed(conn: Connection) -> None:
        pending = conn.info.pop(_PENDING, None)
        if pending:
            conn.info.setdefault(_COMMITTED, set()).update(pending)

    def rolled_back(conn: Connection) -> None:
        conn.info.pop(_PENDING, None)

    def checked_in(_dbapi_conn: Any, record: Any) -> None:
        done = record.info.pop(_COMMITTED, None)
        if not done:
            return
        try:
            publish(done)
        except Exception as exc:  # followers keep polling: latency, not correctness
            log.warning("could not tell followers of %d run change(s) (%s)", len(done), exc)

    _PUBLISHING.add(engine)
    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)
    event.listen(engine.pool, "checkin", checked_in)


def redis_publisher(url: str) -> Publish:
    """Publish each run id on `CHANNEL` of the Redis at `url` (one round trip per commit).
    The client connects on first use and reconnects by itself."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def publish(run_ids: Collection[str]) -> None:
        with client.pipeline(transaction=False) as pipe:
            for run_id in sorted(run_ids):
                pipe.publish(CHANNEL, run_id)
            pipe.execute()

    return publish
