"""Typed model tasks. A flow declares each task once; the gateway runs it on any backend.

`extract` fills a pydantic schema (with a confidence), `classify` picks one label of a
closed set (with a confidence), `generate` writes text from a Jinja2 prompt. Each task
names its prompt template (for LLM backends) and its offline implementation (for the
offline backend, a measured baseline built from parsing libraries and trained models).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

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
    offline: Callable[[str], Extraction[T]] | None = None
    description: str = ""


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
