"""Followers on PostgreSQL hear of run changes (LISTEN/NOTIFY, api/notify.py): a status
change or an appended event wakes the runs' followers at once; lease renewals do not."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, update

from api.notify import PgChangeFeed, listen_url
from bpa.db import table_of
from bpa.migrations import upgrade
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
