"""Where LangGraph keeps run state and cross-run memory: next to the runs' database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from toy_ledger import toy_runner, toy_settings

from bpa.checkpoints import libpq_url, open_checkpointer, open_memory_store
from bpa.config import Settings


def test_checkpoints_follow_the_database_url(tmp_path: Path) -> None:
    pg = "postgresql+psycopg://bpa:s3cret@db.example:5432/bpa"
    assert Settings(home=tmp_path).resolved_checkpoint_url() == str(tmp_path / "checkpoints.db")
    assert Settings(home=tmp_path, database_url=pg).resolved_checkpoint_url() == pg
    assert (
        Settings(
            home=tmp_path, database_url=pg, checkpoint_url="/data/cp.db"
        ).resolved_checkpoint_url()
        == "/data/cp.db"
    )
    assert libpq_url(pg + "?options=-csearch_path%3Dx") == (
        "postgresql://bpa:s3cret@db.example:5432/bpa?options=-csearch_path%3Dx"
    )


async def test_memory_outlives_the_process_that_wrote_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    async with open_memory_store(settings) as memory:
        await memory.aput(("sales", "sync"), "watermark", {"at": "2025-01-06T12:00:00Z"})
    async with open_memory_store(settings) as memory:
        item = await memory.aget(("sales", "sync"), "watermark")
    assert item is not None and item.value == {"at": "2025-01-06T12:00:00Z"}
    assert (tmp_path / "home" / "memory.db").is_file()


async def test_many_openers_of_a_fresh_home_all_succeed(tmp_path: Path) -> None:
    """As when `bpa serve` starts the API and its workers at once: each opener switches the
    new files to WAL and migrates their tables; without serialising that, some fail."""
    settings = Settings(home=tmp_path / "home")

    async def open_both() -> None:
        async with open_checkpointer(settings), open_memory_store(settings):
            pass

    outcomes = await asyncio.gather(*(open_both() for _ in range(6)), return_exceptions=True)
    assert [o for o in outcomes if o is not None] == []


async def test_nodes_share_memory_across_runs(tmp_path: Path) -> None:
    async with toy_runner(toy_settings(tmp_path / "home")) as runner:
        for _ in range(2):
            run = await runner.start("ledger", {"account": "acme"})
            assert run.status == "succeeded"
        await runner.start("ledger", {"account": "other"})
        assert runner.memory is not None
        acme = await runner.memory.aget(("ledger", "fees"), "acme")
        assert acme is not None and acme.value == {"count": 2}
