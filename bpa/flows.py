"""What a flow plug-in provides, and how the engine finds flows (entry-point group `bpa.flows`).

The registry reads flow names from the installed packages' metadata and imports a flow (its
graph, models and libraries) only when it is first looked up, so a command that never runs
a flow never pays for one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from bpa.roles import Role

if TYPE_CHECKING:
    from langgraph.graph import StateGraph
    from langgraph.types import Durability

    from bpa.documents import DocumentStore
    from bpa.models import ClassifyTask

__all__ = ["Flow", "FlowInfo", "FlowRegistry", "UnknownFlow", "load_flows", "one_step_graph"]

GROUP = "bpa.flows"


class UnknownFlow(LookupError):
    """No installed flow has this name (or it failed to load)."""


@dataclass(frozen=True)
class Flow:
    """A business flow: a LangGraph graph plus what the engine needs to run it."""

    name: str
    version: str
    description: str
    build_graph: Callable[[], StateGraph[Any, Any, Any, Any]]
    input_model: type[BaseModel]
    #: Final graph state -> the run's output (JSON-able).
    make_output: Callable[[dict[str, Any]], dict[str, Any]]
    #: The typed answer a human gives when the flow waits (validated on resume).
    decision_model: type[BaseModel] | None = None
    output_model: type[BaseModel] | None = None
    #: File -> run input, for `bpa run --input` and `bpa batch` (None: the file is JSON input).
    load_input: Callable[[Path, DocumentStore], dict[str, Any]] | None = None
    #: File name endings `bpa batch` picks up when given a folder.
    input_suffixes: tuple[str, ...] = (".json",)
    #: When LangGraph persists checkpoints: "async" after every step (a crashed run resumes
    #: from its last step), or "exit" when the run stops (finishes, fails or asks a human; a
    #: crashed run re-executes from the start, its connector actions replayed by their
    #: idempotency keys). "exit" suits short flows whose every side effect is idempotent,
    #: and whose checks know their own earlier effects (`Connector.recorded`): the invoice
    #: booked before the crash is this run's bill, not a duplicate.
    durability: Durability = "async"
    #: Input -> a natural idempotency key (e.g. an e-mail's Message-ID), used when the caller
    #: gives none: the same message delivered twice is one run.
    run_key: Callable[[dict[str, Any]], str | None] | None = None
    #: Input -> the conversation keys it may continue (e.g. an e-mail's In-Reply-To): a run
    #: waiting under one of them (its question's `details.reply_keys`) takes the input as
    #: its answer instead of a new run starting (bpa/runs/replies.py).
    reply_keys: Callable[[dict[str, Any]], list[str]] | None = None
    #: (the waiting question, the input) -> whether the input may answer it (e.g. its sender
    #: is the one asked); None: any input under its keys may.
    accepts_reply: Callable[[dict[str, Any], dict[str, Any]], bool] | None = None
    connectors: tuple[str, ...] = ()
    #: The least API role that may start it (the generic start and batch routes, and the
    #: flow's own routes): an administrative flow (a vendor import) asks more than operator.
    start_role: Role = Role.operator
    #: The input field that says who asked: the API fills it with the caller's name (what a
    #: request body puts there is replaced), so a run's record of its requester is not forged.
    caller_field: str | None = None
    classify_tasks: tuple[ClassifyTask, ...] = ()
    examples: tuple[str, ...] = field(default_factory=tuple)

    def input_from_file(self, path: Path, documents: DocumentStore) -> dict[str, Any]:
        if self.load_input is not None:
            return self.load_input(path, documents)
        return self.input_model.model_validate_json(path.read_bytes()).model_dump(mode="json")


@dataclass(frozen=True)
class FlowInfo:
    name: str
    flow: Flow | None
    problem: str | None = None


class FlowRegistry(Mapping[str, FlowInfo]):
    """Every flow the installed packages register, by name, each imported on first use.

    Iterating (names, `len`, `in`) reads only the entry points; looking a flow up imports
    it once. A broken plug-in is reported in its `FlowInfo`, not raised. `flows` is the
    same registry as name -> `Flow`, holding the flows that load.
    """

    def __init__(self, eps: Iterable[EntryPoint] | None = None) -> None:
        found = eps if eps is not None else entry_points(group=GROUP)
        self._eps: dict[str, EntryPoint] = {ep.name: ep for ep in found}
        self._infos: dict[str, FlowInfo] = {}
        self.flows: Mapping[str, Flow] = _LoadedFlows(self)

    def __getitem__(self, name: str) -> FlowInfo:
        info = self._infos.get(name)
        if info is None:
            info = self._infos[name] = _load(self._eps[name])
        return info

    def __iter__(self) -> Iterator[str]:
        return iter(self._eps)

    def __len__(self) -> int:
        return len(self._eps)

    def __contains__(self, name: object) -> bool:
        return name in self._eps

    def load_all(self) -> dict[str, FlowInfo]:
        """Imports every flow now (a server does at start-up, not on its first request)."""
        return {name: self[name] for name in self._eps}


class _LoadedFlows(Mapping[str, Flow]):
    """A registry's working flows by name: a lookup imports one flow, iterating all."""

    def __init__(self, registry: FlowRegistry) -> None:
        self._registry = registry

    def __getitem__(self, name: str) -> Flow:
        info = self._registry.get(name)
        if info is None or info.flow is None:
            raise KeyError(name)
        return info.flow

    def __iter__(self) -> Iterator[str]:
        return (name for name, info in self._registry.items() if info.flow is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def one_step_graph(
    state: type[Any], input_schema: type[BaseModel], name: str, node: Callable[..., Any]
) -> StateGraph[Any, Any, Any, Any]:
    """A flow of one node (an administrative action: a vendor import): START -> node -> END,
    with the engine's `RunContext`."""
    from langgraph.graph import END, START, StateGraph

    from bpa.runs.context import RunContext

    graph = StateGraph(state, context_schema=RunContext, input_schema=input_schema)
    graph.add_node(name, node)
    graph.add_edge(START, name)
    graph.add_edge(name, END)
    return graph


def load_flows(eps: Iterable[EntryPoint] | None = None) -> dict[str, FlowInfo]:
    """Every flow the installed packages register, imported now; a broken plug-in is
    reported, not raised."""
    return FlowRegistry(eps).load_all()


def _load(ep: EntryPoint) -> FlowInfo:
    try:
        obj = ep.load()
    except Exception as exc:  # a third-party plug-in must not take the suite down
        return FlowInfo(ep.name, None, f"failed to import: {exc}")
    if not isinstance(obj, Flow):
        return FlowInfo(ep.name, None, f"{ep.value} is not a bpa.flows.Flow")
    if obj.name != ep.name:
        return FlowInfo(ep.name, None, f"entry point {ep.name!r} names flow {obj.name!r}")
    return FlowInfo(ep.name, obj)
