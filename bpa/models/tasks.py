"""Typed model tasks. A flow declares each task once; the gateway runs it on any backend.

`extract` fills a pydantic schema (with a confidence), `classify` picks one label of a
closed set (with a confidence), `generate` writes text from a Jinja2 prompt, `plan` lets the
model call a flow's read-only tools before it submits a structured proposal. Each task
names its prompt template (for LLM backends) and its offline implementation (for the
offline backend, a measured baseline built from parsing libraries and trained models).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from bpa.models.prompts import PromptLibrary

__all__ = [
    "Classification",
    "ClassifyTask",
    "ExtractTask",
    "Extraction",
    "GenerateTask",
    "Generation",
    "OfflineClassifier",
    "PlanTask",
    "Planning",
    "Tool",
    "ToolUse",
    "Usage",
]

T = TypeVar("T", bound=BaseModel)


class Usage(BaseModel):
    """What a model call cost, where the backend knows it."""

    input_tokens: int | None = None
    output_tokens: int | None = None


class Extraction(BaseModel, Generic[T]):
    value: T
    confidence: float = Field(ge=0, le=1)
    field_confidence: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class Classification(BaseModel):
    label: str
    confidence: float = Field(ge=0, le=1)
    scores: dict[str, float] = Field(default_factory=dict)


class Generation(BaseModel):
    text: str


class OfflineClassifier(Protocol):
    def predict(self, text: str) -> Classification: ...


@dataclass(frozen=True)
class ExtractTask(Generic[T]):
    name: str
    schema: type[T]
    prompts: PromptLibrary
    prompt: str
    #: The offline implementation: called with the text, and with those of the call's
    #: variables named in `offline_inputs` as keywords (e.g. a PDF's positioned words).
    offline: Callable[..., Extraction[T]] | None = None
    description: str = ""
    offline_inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassifyTask:
    name: str
    labels: Sequence[str]
    prompts: PromptLibrary
    prompt: str
    #: Builds the offline classifier; gets a folder where it may keep a trained model.
    offline: Callable[[Path | None], OfflineClassifier] | None = None
    description: str = ""


@dataclass(frozen=True)
class GenerateTask:
    name: str
    prompts: PromptLibrary
    prompt: str
    #: Template rendered as the answer by the offline backend (a message template).
    offline_template: str | None = None
    description: str = ""
    max_chars: int = 20_000
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tool:
    """A function the model may call while planning. It must only read: the flow's writes
    happen later, through its connector nodes. `run` gets the validated arguments and returns
    something JSON-able; a refusal is returned as data (``{"error": ...}``), not raised."""

    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True)
class PlanTask(Generic[T]):
    """Tool calling towards one structured proposal, submitted through the `submit` tool.

    The loop is bounded: at most `max_rounds` model calls, `max_tool_calls` tool calls,
    `max_tokens` tokens over all calls and `max_answer_tokens` per answer. Past a bound, or
    when the model calls a tool it was not offered, the planning fails (and is recorded).
    """

    name: str
    schema: type[T]
    prompts: PromptLibrary
    prompt: str
    submit: str = "submit_plan"
    description: str = ""
    max_rounds: int = 6
    max_tool_calls: int = 12
    max_tokens: int = 60_000
    max_answer_tokens: int = 2_000


class ToolUse(BaseModel):
    """One tool call of a planning, for the audit trail (no arguments, no results)."""

    name: str
    ok: bool


class Planning(BaseModel, Generic[T]):
    """What planning gave: the model's proposal, or why the rule planner decides instead."""

    planner: Literal["model", "rules"]
    value: T | None = None
    reason: str = ""
    rounds: int = 0
    tools: list[ToolUse] = Field(default_factory=list)
