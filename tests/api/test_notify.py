"""Followers hear of run changes (api/notify.py): on PostgreSQL through LISTEN/NOTIFY, on
SQLite with a Redis broker through Redis pub/sub. A status change or an appended event wakes
the runs' followers at once; lease renewals and rolled-back writes do not."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update

from api.notify import PgChangeFeed, RedisChangeFeed, listen_url
from bpa.config import Settings
from bpa.db import open_engine, redis_feed_url, table_of
from bpa.migrations import upgrade
from bpa.runs.chain import append_events
from bpa.runs.store import RunStore
from bpa.runs.tables import Run, RunEvent, RunStatus, utcnow


def test_only_postgresql_urls_are_listened_to() -> None:
    assert listen_url("sqlite:////tmp/bpa.db") is None
    assert listen_url("postgresql+psycopg://ann:pw@db:5433/bpa?options=-csearch_path%3Dx") == (
        "postgresql://ann:pw@db:5433/bpa?options=-csearch_path%3Dx"
    )


@pytest.mark.postgres
async def test_a_status_change_or_an_event_wakes_the_runs_followers(pg_url: str) -> None:
    engine = create_engine(pg_url)
    upgrade(engine)
    store = RunStore(engine)
    run, _ = store.create_run(flow="toy", flow_version="1", input={}, trigger="api")
    other, _ = store.create_run(flow="toy", flow_version="1", input={}, trigger="api")
    conninfo = listen_url(pg_url)
    assert conninfo is not None
    async with PgChangeFeed(conninfo).running() as feed:
        await asyncio.wait_for(feed.connected.wait(), 30)
        with feed.watch(run.id) as pause:

            async def woken_by(change: object) -> bool:
                waiting = asyncio.create_task(pause(30))
                await asyncio.sleep(0.1)
                await asyncio.to_thread(change)  # another connection writes
                try:
                    await asyncio.wait_for(waiting, 10)
                except TimeoutError:
                    return False
                return True

            renewed = update(table_of(Run)).where(table_of(Run).c.id == run.id)
            assert await woken_by(lambda: store.update(run.id, status=RunStatus.running))
            assert await woken_by(
                lambda: store.add_events([RunEvent(run_id=run.id, kind="node_started")])
            )
            heard = feed.heard
            with engine.begin() as conn:  # a lease renewal changes no status: no notification
                conn.execute(renewed.values(lease_until=utcnow()))
            store.update(other.id, status=RunStatus.running)  # someone else's run
            await asyncio.sleep(1.0)
            assert feed.heard == heard + 1  # the other run's change only
            sleeping = asyncio.create_task(pause(0.3))
            await asyncio.wait_for(sleeping, 5)  # nothing for this run: the pause runs out
    engine.dispose()


def _redis_or_skip() -> str:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            pass
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379 (the broker whose pub/sub carries changes)")
    return "redis://127.0.0.1:6379/0"


def test_only_a_redis_broker_without_postgresql_carries_changes(tmp_path: Path) -> None:
    sqlite = Settings(home=tmp_path, broker_url="redis://127.0.0.1:6379/0")
    engine = open_engine(sqlite)
    assert redis_feed_url(sqlite, engine) == "redis://127.0.0.1:6379/0"
    assert redis_feed_url(Settings(home=tmp_path, broker_url="amqp://guest@x//"), engine) is None
    assert redis_feed_url(Settings(home=tmp_path), engine) is None
    engine.dispose()


@pytest.mark.distributed
async def test_on_sqlite_a_commit_wakes_followers_through_redis(tmp_path: Path) -> None:
    url = _redis_or_skip()
    engine = open_engine(Settings(home=tmp_path, broker_url=url))
    upgrade(engine)
    store = RunStore(engine)
    run, _ = store.create_run(flow="toy", flow_version="1", input={}, trigger="api")
    async with RedisChangeFeed(url).running() as feed:
        await asyncio.wait_for(feed.connected.wait(), 10)
        with feed.watch(run.id) as pause:

            async def woken_by(change: object) -> bool:
                waiting = asyncio.create_task(pause(30))
                await asyncio.sleep(0.1)
                await asyncio.to_thread(change)  # a writer's commit
                try:
                    await asyncio.wait_for(waiting, 10)
                except TimeoutError:
                    return False
                return True

            assert await woken_by(lambda: store.update(run.id, status=RunStatus.running))
            assert await woken_by(
                lambda: store.add_events([RunEvent(run_id=run.id, kind="node_started")])
            )

            def rolled_back() -> None:
                with contextlib.suppress(RuntimeError), engine.begin() as conn:
                    append_events(conn, [_event(run.id)])
                    raise RuntimeError("rolled back")

            heard = feed.heard
            await asyncio.to_thread(rolled_back)  # nothing committed: nothing told
            await asyncio.sleep(0.5)
            assert feed.heard == heard
            sleeping = asyncio.create_task(pause(0.3))
            await asyncio.wait_for(sleeping, 5)
    engine.dispose()


def _event(run_id: str) -> dict[str, object]:
    return {
        "run_id": run_id,
        "kind": "node_started",
        "node": None,
        "payload": {},
        "duration_ms": None,
        "created_at": utcnow(),
    }
