"""A toy flow with real side effects, for the durability tests (and their worker process).

Flow `ledger`: `charge` (a side-effecting connector call) -> `pause` (sleeps `delay` s, so a
run can be caught mid-way) -> `book` (a second side effect). The toy `bank` connector keeps
its charges in SQL behind the SDK's idempotency ledger, and counts every node execution in
`toy_node_runs` (not idempotent on purpose: it shows when a node ran again).

Run as a script, it is a worker process: an executor over the ledger flow until nothing is
left to do (`python toy_ledger.py DATABASE_URL HOME [--crash-marker PATH]`). With
`--crash-marker`, the first process to charge dies (os._exit, like kill -9) right after the
charge committed and before the node finished, unless the marker file already exists.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy, interrupt
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Field, Session, SQLModel, select

from bpa.checkpoints import open_checkpointer, open_memory_store
from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.documents import DocumentStore
from bpa.flows import Flow
from bpa.models import ModelGateway
from bpa.models.offline import OfflineBackend
from bpa.review import ReviewQuestion
from bpa.runs.context import RunContext
from bpa.runs.runner import Runner
from bpa.runs.store import RunStore
from connectors.base import Connector, Irreversible, action
from connectors.errors import Transient
from connectors.sql import IdempotencyRecord, SqlConnectorMixin, make_engine


class ToyCharge(SQLModel, table=True):
    __tablename__ = "toy_charges"

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(index=True)
    amount: int


class ToyNodeRun(SQLModel, table=True):
    __tablename__ = "toy_node_runs"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    node: str
    pid: int


class ChargeRequest(BaseModel):
    account: str
    amount: int


class ChargeRecord(BaseModel):
    id: int
    account: str
    amount: int


class ToyBank(SqlConnectorMixin, Connector):
    name: ClassVar[str] = "bank"
    kind: ClassVar[str] = "toy"

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        SQLModel.metadata.create_all(
            self.engine,
            tables=[
                ToyCharge.__table__,
                ToyNodeRun.__table__,  # type: ignore[attr-defined]
                IdempotencyRecord.__table__,
            ],  # type: ignore[attr-defined]
        )

    @action(side_effect=True, undo=Irreversible("a toy"))
    async def charge(self, request: ChargeRequest, *, idempotency_key: str) -> ChargeRecord:
        """Books an amount on an account."""
        with self.session() as session:
            row = ToyCharge(account=request.account, amount=request.amount)
            session.add(row)
            session.flush()
            assert row.id is not None
            return ChargeRecord(id=row.id, account=row.account, amount=row.amount)

    def note(self, run_id: str, node: str) -> None:
        with Session(self.engine) as session:
            session.add(ToyNodeRun(run_id=run_id, node=node, pid=os.getpid()))
            session.commit()

    def charges(self, account: str | None = None) -> list[ToyCharge]:
        with Session(self.engine) as session:
            query = select(ToyCharge)
            if account is not None:
                query = query.where(ToyCharge.account == account)
            return list(session.exec(query).all())

    def node_runs(self, node: str) -> dict[str, int]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(ToyNodeRun.run_id, func.count())
                .where(ToyNodeRun.node == node)
                .group_by(ToyNodeRun.run_id)
            ).all()
            return {run_id: n for run_id, n in rows}


class LedgerInput(BaseModel):
    account: str
    amount: int = 10
    delay: float = 0.0
    ask: bool = False
    #: The run kills its process on every attempt (a poison run).
    poison: bool = False


class LedgerState(TypedDict, total=False):
    account: str
    amount: int
    delay: float
    ask: bool
    poison: bool
    charge_id: int
    approved: bool
    fee_id: int


_CONNECTOR_RETRY = RetryPolicy(retry_on=Transient, max_attempts=3)

#: How many `pause` nodes run at this moment in this process, and the most there ever were.
GAUGE = {"now": 0, "max": 0}


async def charge_account(state: LedgerState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    bank = ctx.connectors.get("bank")
    bank.note(ctx.run_id, "charge")
    result = await bank.charge(
        ChargeRequest(account=state["account"], amount=state["amount"]),
        idempotency_key=ctx.idempotency_key("charge_account", "charge"),
    )
    marker = os.environ.get("TOY_CRASH_MARKER")
    if marker and not Path(marker).exists():
        Path(marker).write_text(ctx.run_id)
        os._exit(137)  # like kill -9: no cleanup, no checkpoint for this step
    return {"charge_id": result.id}


async def pause(state: LedgerState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    runtime.context.connectors.get("bank").note(runtime.context.run_id, "pause")
    if state.get("poison"):
        os._exit(137)  # every attempt takes its process down
    GAUGE["now"] += 1
    GAUGE["max"] = max(GAUGE["max"], GAUGE["now"])
    try:
        await asyncio.sleep(state.get("delay", 0.0))
    finally:
        GAUGE["now"] -= 1
    approved = True
    if state.get("ask"):
        question = ReviewQuestion(kind="toy", title="book the fee?", reasons=["a toy"])
        answer = interrupt(question.model_dump())
        await asyncio.sleep(state.get("delay", 0.0))
        approved = answer["action"] == "approve"
    return {"approved": approved}


async def book_fee(state: LedgerState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    bank = ctx.connectors.get("bank")
    bank.note(ctx.run_id, "book")
    result = await bank.charge(
        ChargeRequest(account="fees", amount=1),
        idempotency_key=ctx.idempotency_key("book_fee", "charge"),
    )
    if runtime.store is not None:  # cross-run memory: fees booked per account so far
        seen = await runtime.store.aget(("ledger", "fees"), state["account"])
        count = (seen.value["count"] if seen else 0) + 1
        await runtime.store.aput(("ledger", "fees"), state["account"], {"count": count})
    return {"fee_id": result.id}


def build_graph() -> StateGraph:
    graph = StateGraph(LedgerState, context_schema=RunContext)
    graph.add_node(
        "charge_account",
        charge_account,
        metadata={"kind": "connector"},
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node("pause", pause, metadata={"kind": "human"})
    graph.add_node(
        "book_fee", book_fee, metadata={"kind": "connector"}, retry_policy=_CONNECTOR_RETRY
    )
    graph.add_edge(START, "charge_account")
    graph.add_edge("charge_account", "pause")
    graph.add_edge("pause", "book_fee")
    graph.add_edge("book_fee", END)
    return graph


LEDGER = Flow(
    name="ledger",
    version="1",
    description="charges an account, waits, books a fee",
    build_graph=build_graph,
    input_model=LedgerInput,
    make_output=lambda s: {
        "charge_id": s.get("charge_id"),
        "fee_id": s.get("fee_id"),
        "approved": s.get("approved"),
    },
)


def toy_settings(home: Path, database_url: str | None = None, **extra: Any) -> Settings:
    return Settings(home=home, database_url=database_url, **extra)


@asynccontextmanager
async def toy_runner(settings: Settings, **runner_args: Any) -> AsyncIterator[Runner]:
    """A Runner over the ledger flow and a toy bank on the settings' database."""
    engine = open_engine(settings)
    create_schema(engine)
    bank = ToyBank(settings.resolved_database_url())
    try:
        async with (
            open_checkpointer(settings) as checkpointer,
            open_memory_store(settings) as memory,
        ):
            yield Runner(
                settings=settings,
                store=RunStore(engine),
                flows={"ledger": LEDGER},
                connectors={"bank": bank},
                models=ModelGateway(OfflineBackend()),
                documents=DocumentStore(settings.home / "documents", max_bytes=1000),
                checkpointer=checkpointer,
                memory=memory,
                **runner_args,
            )
    finally:
        bank.engine.dispose()
        engine.dispose()


def spawn_worker(database_url: str, home: Path, *extra: str) -> subprocess.Popen[bytes]:
    """This module as a worker process on `database_url` (leases of 30 s: only a crash or a
    dead-process sweep frees them, never a slow test machine)."""
    repo = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [sys.executable, __file__, database_url, str(home), "--lease", "30", *extra],
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = 90) -> int:
    """Wait for a worker; its exit code (0, or 137 after a planned crash)."""
    _, err = proc.communicate(timeout=timeout)
    if proc.returncode not in (0, 137):
        raise AssertionError(err.decode()[-3000:])
    return proc.returncode


async def _work(args: argparse.Namespace) -> None:
    from bpa.executor import Executor

    settings = toy_settings(
        Path(args.home), args.database_url, run_lease_s=args.lease, retry_backoff_s=0.2
    )
    async with toy_runner(settings) as runner:
        executor = Executor(runner, concurrency=args.concurrency, poll_interval=0.05)
        try:
            await executor.run_until_idle(timeout=args.timeout, settle=args.settle)
        finally:
            await executor.stop()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("home")
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=0.0)
    parser.add_argument("--crash-marker")
    args = parser.parse_args(argv)
    if args.crash_marker:
        os.environ["TOY_CRASH_MARKER"] = args.crash_marker
    asyncio.run(_work(args))


if __name__ == "__main__":
    main(sys.argv[1:])
