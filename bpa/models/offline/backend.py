"""Runs model tasks with no model server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from bpa.errors import ModelError
from bpa.models.prompts import RenderedPrompt
from bpa.models.tasks import (
    Classification,
    ClassifyTask,
    Extraction,
    ExtractTask,
    GenerateTask,
    Generation,
    OfflineClassifier,
    Usage,
)

T = TypeVar("T", bound=BaseModel)

_NO_OFFLINE = "{kind} task {name!r} has no offline implementation; set BPA_MODEL_BACKEND=openai"


class OfflineBackend:
    name = "offline"
    model = "offline-baseline"
    #: No tool-calling planner offline: flows keep their rule planners.
    plans_with_model = False

    def __init__(self, *, cache_dir: Path | None = None) -> None:
        #: Where trained classifiers are kept between processes (None: retrain per process).
        self.cache_dir = cache_dir
        self._classifiers: dict[str, OfflineClassifier] = {}

    async def extract(
        self, task: ExtractTask[T], text: str, variables: dict[str, Any]
    ) -> tuple[Extraction[T], Usage, RenderedPrompt | None]:
        if task.offline is None:
            raise ModelError(_NO_OFFLINE.format(kind="extract", name=task.name))
        extra = {name: variables[name] for name in task.offline_inputs if name in variables}
        return task.offline(text, **extra), Usage(), None

    def classifier(self, task: ClassifyTask) -> OfflineClassifier:
        if task.offline is None:
            raise ModelError(_NO_OFFLINE.format(kind="classify", name=task.name))
        if task.name not in self._classifiers:
            self._classifiers[task.name] = task.offline(self.cache_dir)
        return self._classifiers[task.name]

    async def classify(
        self, task: ClassifyTask, text: str, variables: dict[str, Any]
    ) -> tuple[Classification, Usage, RenderedPrompt | None]:
        return self.classifier(task).predict(text), Usage(), None

    async def generate(
        self, task: GenerateTask, variables: dict[str, Any]
    ) -> tuple[Generation, Usage, RenderedPrompt | None]:
        if task.offline_template is None:
            raise ModelError(_NO_OFFLINE.format(kind="generate", name=task.name))
        rendered = task.prompts.render(task.offline_template, **variables)
        return Generation(text=rendered.text.strip()[: task.max_chars]), Usage(), rendered

    async def warm_up(self, tasks: list[ClassifyTask]) -> None:
        """Train classifiers ahead of the first run (off the event loop)."""
        for task in tasks:
            await asyncio.to_thread(self.classifier, task)
