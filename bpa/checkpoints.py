"""LangGraph persistence next to the runs: the checkpointer (a run's own state, per step) and
the memory store (what flows keep across runs, `runtime.store`). SQLite files in `home` by
default; PostgreSQL (`langgraph-checkpoint-postgres`) when the suite's database is PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.store.base import BaseStore
from sqlalchemy.engine import make_url

from bpa.config import Settings

__all__ = ["libpq_url", "open_checkpointer", "open_memory_store"]

# Advisory-lock keys: serialise each saver's table setup across processes starting at once.
_SETUP_LOCK = 0x62_70_61_5F_63_70  # "bpa_cp"
_MEMORY_LOCK = 0x62_70_61_5F_6D_65  # "bpa_me"


@asynccontextmanager
async def _setup_lock(path: Path) -> AsyncIterator[None]:
    """Serialise a SQLite saver's setup across connections opening at once (`bpa serve`
    starts its workers next to the API): switching a fresh file to WAL does not wait for a
    lock (it fails), and the setup reads the schema version, then migrates, so two doing it
    together add the same column twice. Waits without blocking the event loop; where there
    is no `fcntl` (Windows), setup is not serialised."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(path.with_name(f"{path.name}.setup-lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock


def libpq_url(url: str) -> str:
    """`postgresql+psycopg://...` (SQLAlchemy) -> `postgresql://...` (libpq, psycopg)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Open (and create the tables of) the checkpointer `settings` point at."""
    target = settings.resolved_checkpoint_url()
    if target.startswith(("postgresql", "postgres:")):
        async with _postgres(libpq_url(target), max_size=settings.executor_concurrency + 4) as cp:
            yield cp
    else:
        async with _sqlite(Path(target.removeprefix("sqlite:///"))) as cp:
            yield cp


@asynccontextmanager
async def open_memory_store(settings: Settings) -> AsyncIterator[BaseStore]:
    """Open (and create the tables of) the cross-run memory store: next to the checkpoints."""
    target = settings.resolved_checkpoint_url()
    if target.startswith(("postgresql", "postgres:")):
        async with _postgres_memory(libpq_url(target)) as store:
            yield store
        return
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    path = Path(target.removeprefix("sqlite:///")).with_name("memory.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        memory = AsyncSqliteStore(conn)
        async with _setup_lock(path):
            await conn.execute("PRAGMA busy_timeout=30000")
            await conn.execute("PRAGMA journal_mode=WAL")
            await memory.setup()
        yield memory
    finally:
        await conn.close()


@asynccontextmanager
async def _sqlite(path: Path) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path))
    try:
        saver = AsyncSqliteSaver(conn)
        async with _setup_lock(path):
            await conn.execute("PRAGMA busy_timeout=30000")
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await saver.setup()
        yield saver
    finally:
        await conn.close()


@asynccontextmanager
async def _pool(conninfo: str, *, max_size: int) -> AsyncIterator[Any]:
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool: AsyncConnectionPool = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=False,
    )
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


async def _setup_locked(conninfo: str, key: int, setup: Callable[[], Awaitable[None]]) -> None:
    """Run a saver's `setup()` under a session advisory lock: two processes starting at once
    would otherwise race on its migration table."""
    from psycopg import AsyncConnection

    async with await AsyncConnection.connect(conninfo, autocommit=True) as lock:
        await lock.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            await setup()
        finally:
            await lock.execute("SELECT pg_advisory_unlock(%s)", (key,))


@asynccontextmanager
async def _postgres(conninfo: str, *, max_size: int) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async with _pool(conninfo, max_size=max_size) as pool:
        saver = AsyncPostgresSaver(pool)
        await _setup_locked(conninfo, _SETUP_LOCK, saver.setup)
        yield saver


@asynccontextmanager
async def _postgres_memory(conninfo: str) -> AsyncIterator[BaseStore]:
    from langgraph.store.postgres.aio import AsyncPostgresStore

    async with _pool(conninfo, max_size=4) as pool:
        memory = AsyncPostgresStore(pool)
        await _setup_locked(conninfo, _MEMORY_LOCK, memory.setup)
        yield memory
