"""Small flows and a connector for the API tests, and a suite built around them.

`toy` doubles a number and asks a human when the result is 100 or more (`mode` makes it
slow, fail, or crash; a second run with the same `ref` is the first one again);
`toy_doc` takes an uploaded document and reports its size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar, TypedDict

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel
from sqlmodel import SQLModel

from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.documents import DocumentRef, DocumentStore
from bpa.errors import FlowError
from bpa.flows import Flow, FlowInfo
from bpa.models import ModelGateway
from bpa.models.offline import OfflineBackend
from bpa.review import ReviewQuestion
from bpa.runs.context import RunContext
from bpa.runs.runner import Runner
from bpa.runs.store import RunStore
from bpa.schedules import Schedule, ScheduleFiring, ScheduleStore
from bpa.suite import Suite
from connectors.base import Connector, action
from connectors.registry import ConnectorInfo


class ToyInput(BaseModel):
    amount: int
    mode: str = "ok"
    ref: str | None = None


class ToyState(TypedDict, total=False):
    amount: int
    mode: str
    doubled: int
    approved: bool | None


async def double(state: ToyState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    if state["mode"] == "slow":
        await asyncio.sleep(0.3)
    if state["mode"] == "hang":
        await asyncio.sleep(60)
    if state["mode"] == "flow_error":
        raise FlowError("bad_amount", "the amount cannot be processed")
    if state["mode"] == "crash":
        raise RuntimeError("boom")
    return {"doubled": state["amount"] * 2}


async def review(state: ToyState) -> dict[str, Any]:
    if state["doubled"] < 100:
        return {"approved": None}
    answer = interrupt(
        ReviewQuestion(kind="toy", title="big amount", reasons=["100 or more"]).model_dump()
    )
    return {"approved": answer["action"] == "approve"}


def build_toy() -> StateGraph:
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
    description="doubles a number; asks a human at 100 or more",
    build_graph=build_toy,
    input_model=ToyInput,
    make_output=lambda s: {"doubled": s.get("doubled"), "approved": s.get("approved")},
    run_key=lambda data: f"toy:{data['ref']}" if data.get("ref") else None,
)


class DocInput(BaseModel):
    document: DocumentRef
    source: str | None = None


class DocState(TypedDict, total=False):
    document: dict[str, Any]
    source: str | None
    size: int


async def measure(state: DocState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    data = runtime.context.documents.read(DocumentRef.model_validate(state["document"]))
    return {"size": len(data)}


def build_doc() -> StateGraph:
    graph = StateGraph(DocState, context_schema=RunContext)
    graph.add_node("measure", measure, metadata={"kind": "decision"})
    graph.add_edge(START, "measure")
    graph.add_edge("measure", END)
    return graph


TOY_DOC = Flow(
    name="toy_doc",
    version="1",
    description="measures an uploaded document",
    build_graph=build_doc,
    input_model=DocInput,
    make_output=lambda s: {"size": s.get("size"), "source": s.get("source")},
    input_suffixes=(".txt", ".pdf"),
)


async def peek(state: DocState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    data = runtime.context.documents.read(DocumentRef.model_validate(state["document"]))
    return {"head": data[:200].decode("utf-8", "replace")}


def build_peek() -> StateGraph:
    graph = StateGraph(PeekState, context_schema=RunContext)
    graph.add_node("peek", peek, metadata={"kind": "decision"})
    graph.add_edge(START, "peek")
    graph.add_edge("peek", END)
    return graph


class PeekState(DocState, total=False):
    head: str


TOY_PEEK = Flow(
    name="toy_peek",
    version="1",
    description="shows the start of a document: what leaks if a reference can name any file",
    build_graph=build_peek,
    input_model=DocInput,
    make_output=lambda s: {"head": s.get("head")},
)


class PingRequest(BaseModel):
    text: str


class PingResult(BaseModel):
    text: str


class ToyConnector(Connector):
    name: ClassVar[str] = "echo"
    kind: ClassVar[str] = "toy"

    @action()
    async def ping(self, request: PingRequest) -> PingResult:
        """Answers with what it was sent."""
        return PingResult(text=request.text)

    async def health(self) -> dict[str, Any]:
        return {"ok": True, "latency_ms": 0}


@asynccontextmanager
async def toy_suite(settings: Settings) -> AsyncIterator[Suite]:
    """A suite like `Suite.open` builds, with the toy flows and connector instead of plug-ins."""
    settings.ensure_home()
    engine = open_engine(settings)
    create_schema(engine)
    SQLModel.metadata.create_all(
        engine, tables=[Schedule.__table__, ScheduleFiring.__table__], checkfirst=True
    )
    store = RunStore(engine)
    documents = DocumentStore(settings.home / "documents", max_bytes=settings.max_document_bytes)
    flows = {"toy": TOY, "toy_doc": TOY_DOC}
    infos = {name: FlowInfo(name, flow) for name, flow in flows.items()}
    infos["broken"] = FlowInfo("broken", None, "failed to import: No module named 'nowhere'")
    connectors: dict[str, Connector] = {"echo": ToyConnector()}
    connector_infos = {
        "echo": ConnectorInfo("echo", "toy", ToyConnector, ToyConnector.action_specs()),
        "dead": ConnectorInfo("dead", None, None, problems=["cannot load 'dead:X'"]),
    }
    async with aiosqlite.connect(str(settings.home / "checkpoints.db")) as conn:
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        runner = Runner(
            settings=settings,
            store=store,
            flows=flows,
            connectors=connectors,
            models=ModelGateway(OfflineBackend()),
            documents=documents,
            checkpointer=saver,
        )
        extra: dict[str, Any] = {}
        if "schedules" in Suite.__dataclass_fields__:
            extra["schedules"] = ScheduleStore(engine)
        try:
            yield Suite(
                settings=settings,
                engine=engine,
                store=store,
                documents=documents,
                flow_infos=infos,
                connector_infos=connector_infos,
                connector_problems={"dead": "cannot load 'dead:X'"},
                runner=runner,
                **extra,
            )
        finally:
            engine.dispose()
