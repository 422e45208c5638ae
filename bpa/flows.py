"""What a flow plug-in provides, and how the engine finds flows (entry-point group `bpa.flows`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from langgraph.graph import StateGraph
from langgraph.types import Durability
from pydantic import BaseModel

from bpa.documents import DocumentStore
from bpa.models import ClassifyTask

__all__ = ["Flow", "FlowInfo", "load_flows"]


@dataclass(frozen=True)
class Flow:
    """A business flow: a LangGraph graph plus what the engine needs to run it."""

    name: str
    version: str
    description: str
    build_graph: Callable[[], StateGraph]
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
    connectors: tuple[str, ...] = ()
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


def load_flows(eps: Iterable[EntryPoint] | None = None) -> dict[str, FlowInfo]:
    """Every flow the installed packages register; a broken plug-in is reported, not raised."""
    found: dict[str, FlowInfo] = {}
    for ep in eps if eps is not None else entry_points(group="bpa.flows"):
        try:
            obj = ep.load()
        except Exception as exc:  # a third-party plug-in must not take the suite down
            found[ep.name] = FlowInfo(ep.name, None, f"failed to import: {exc}")
            continue
        if not isinstance(obj, Flow):
            found[ep.name] = FlowInfo(ep.name, None, f"{ep.value} is not a bpa.flows.Flow")
        elif obj.name != ep.name:
            found[ep.name] = FlowInfo(
                ep.name, None, f"entry point {ep.name!r} names flow {obj.name!r}"
            )
        else:
            found[ep.name] = FlowInfo(ep.name, obj)
    return found
