"""The runner on a toy flow: audit trail, interrupts, resume, failures, idempotency."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import aiosqlite
import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel

from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.documents import DocumentStore
from bpa.errors import FlowError, IdempotencyConflict, InvalidDecision, RunStateError
from bpa.flows import Flow
from bpa.models import ModelGateway
from bpa.models.offline import OfflineBackend
from bpa.review import ReviewQuestion
from bpa.runs.context import RunContext
from bpa.runs.runner import Runner, UnknownFlow
from bpa.runs.store import RunStore


class ToyInput(BaseModel):
    amount: int
    mode: str = "ok"


class ToyState(TypedDict, total=False):
    amount: int
    mode: str
    doubled: int
    approved: bool | None
    run_id: str


async def double(state: ToyState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    if state["mode"] == "flow_error":
        raise FlowError("bad_amount", "the amount cannot be processed", amount=state["amount"])
    if state["mode"] == "crash":
        raise RuntimeError("boom")
    return {"doubled": state["amount"] * 2, "run_id": runtime.context.run_id}


async def review(state: ToyState) -> dict[str, Any]:
    if state["doubled"] < 100:
        return {"approved": None}
    answer = interrupt(
        ReviewQuestion(kind="toy", title="big amount", reasons=["over 100"]).model_dump()
    )
    return {"approved": answer["action"] == "approve"}


def build() -> StateGraph:
    graph = StateGraph(ToyState, context_schema=RunContext)
    graph.add_node("double", double, metadata={"kind": "decision"})
    graph.add_node("review", review, metadata={"kind": "human"})
    graph.add_edge(START, "double")
    graph.add_edge("double", "review")
    graph.add_edge("review", END)
    return graph


TOY = Flow(
    name="toy",
    version="1",
    description="doubles a number",
    build_graph=build,
    input_model=ToyInput,
    make_output=lambda s: {"doubled": s.get("doubled"), "approved": s.get("approved")},
)


@pytest.fixture
async def runner(tmp_path: Path) -> Any:
    settings = Settings(home=tmp_path / "home")
    engine = open_engine(settings)
    create_schema(engine)
    async with aiosqlite.connect(str(tmp_path / "cp.db")) as conn:
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield Runner(
            settings=settings,
            store=RunStore(engine),
            flows={"toy": TOY},
            connectors={},
            models=ModelGateway(OfflineBackend()),
            documents=DocumentStore(tmp_path / "docs", max_bytes=1000),
            checkpointer=saver,
        )


def kinds(runner: Runner, run_id: str) -> list[tuple[str, str | None]]:
    return [(e.kind, e.node) for e in runner.store.events(run_id)]


async def test_success_records_every_node(runner: Runner) -> None:
    run = await runner.start("toy", {"amount": 3})
    assert run.status == "succeeded"
    assert run.output == {"doubled": 6, "approved": None}
    trail = kinds(runner, run.id)
    assert trail[0] == ("run_created", None)
    assert ("node_started", "double") in trail and ("node_finished", "double") in trail
    assert ("node_finished", "review") in trail
    assert trail[-1] == ("run_finished", None)
    finished = [e for e in runner.store.events(run.id) if e.kind == "node_finished"]
    assert all(e.duration_ms is not None and e.duration_ms >= 0 for e in finished)


async def test_interrupt_waits_then_resume_finishes(runner: Runner) -> None:
    run = await runner.start("toy", {"amount": 60})
    assert run.status == "waiting"
    assert run.output == {"doubled": 120, "approved": None}
    approval = runner.store.pending_approval(run.id)
    assert approval is not None and approval.question["title"] == "big amount"

    with pytest.raises(InvalidDecision):
        await runner.resume(run.id, {"action": "correct", "corrections": {"x": 1}})
    with pytest.raises(InvalidDecision):
        await runner.resume(run.id, {"action": "maybe"})

    done = await runner.resume(run.id, {"action": "approve", "comment": "fine"}, by="ann")
    assert done.status == "succeeded"
    assert done.output == {"doubled": 120, "approved": True}
    decided = runner.store.approvals(run.id)[0]
    assert decided.decided_by == "ann" and decided.decision["comment"] == "fine"
    assert ("resumed", None) in kinds(runner, run.id)
    with pytest.raises(RunStateError):
        await runner.resume(run.id, {"action": "approve"})


async def test_flow_error_fails_with_reason(runner: Runner) -> None:
    run = await runner.start("toy", {"amount": 1, "mode": "flow_error"})
    assert run.status == "failed"
    assert run.error == {
        "code": "bad_amount",
        "message": "the amount cannot be processed",
        "amount": 1,
    }
    assert ("node_failed", "double") in kinds(runner, run.id)


async def test_unexpected_exception_is_recorded_not_raised(runner: Runner) -> None:
    run = await runner.start("toy", {"amount": 1, "mode": "crash"})
    assert run.status == "failed"
    assert run.error["code"] == "internal_error" and "boom" in run.error["message"]
    last = runner.store.events(run.id)[-1]
    assert "traceback" in last.payload


async def test_idempotency_key_runs_once(runner: Runner) -> None:
    first = await runner.start("toy", {"amount": 2}, idempotency_key="k1")
    again = await runner.start("toy", {"amount": 2}, idempotency_key="k1")
    assert again.id == first.id
    assert len(runner.store.list_runs()) == 1
    with pytest.raises(IdempotencyConflict):
        await runner.start("toy", {"amount": 5}, idempotency_key="k1")


async def test_unknown_flow_and_bad_input(runner: Runner) -> None:
    with pytest.raises(UnknownFlow, match="installed flows: toy"):
        await runner.start("nope", {})
    with pytest.raises(ValueError):
        await runner.start("toy", {"amount": "many"})


async def test_cancel_waiting_run(runner: Runner) -> None:
    run = await runner.start("toy", {"amount": 80})
    cancelled = await runner.cancel(run.id)
    assert cancelled.status == "cancelled"
    with pytest.raises(RunStateError):
        await runner.resume(run.id, {"action": "approve"})


async def test_list_paginates_with_cursor(runner: Runner) -> None:
    ids = [(await runner.start("toy", {"amount": i})).id for i in range(5)]
    page1 = runner.store.list_runs(limit=2)
    page2 = runner.store.list_runs(limit=2, before_id=page1[-1].id)
    page3 = runner.store.list_runs(limit=2, before_id=page2[-1].id)
    seen = [r.id for r in page1 + page2 + page3]
    assert seen == list(reversed(ids))
