"""The model gateway: runs typed tasks on the configured backend and audits every call."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from langgraph.config import get_config
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
    Planning,
    PlanTask,
    Tool,
    Usage,
)

__all__ = ["AuditSink", "ModelBackend", "ModelGateway", "PlanningBackend", "current_node"]

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")


class AuditSink(Protocol):
    def record(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        node: str | None = None,
        duration_ms: float | None = None,
    ) -> None: ...


class ModelBackend(Protocol):
    name: str
    model: str

    async def extract(
        self, task: ExtractTask[T], text: str, variables: dict[str, Any]
    ) -> tuple[Extraction[T], Usage, RenderedPrompt | None]: ...

    async def classify(
        self, task: ClassifyTask, text: str, variables: dict[str, Any]
    ) -> tuple[Classification, Usage, RenderedPrompt | None]: ...

    async def generate(
        self, task: GenerateTask, variables: dict[str, Any]
    ) -> tuple[Generation, Usage, RenderedPrompt | None]: ...


class PlanningBackend(Protocol):
    """A backend that can plan with tools (`ModelGateway.plan`); the offline one cannot."""

    async def plan(
        self, task: PlanTask[T], tools: list[Tool], text: str, variables: dict[str, Any]
    ) -> tuple[Planning[T], Usage, RenderedPrompt | None]: ...


def current_node() -> str | None:
    """The graph node executing now (for audit events), or None outside a graph."""
    try:
        node = get_config().get("metadata", {}).get("langgraph_node")
    except RuntimeError:
        return None
    return str(node) if node else None


class ModelGateway:
    """What nodes call. Bound to a run's audit sink by the runner."""

    def __init__(self, backend: ModelBackend, sink: AuditSink | None = None) -> None:
        self.backend = backend
        self.sink = sink

    def bind(self, sink: AuditSink) -> ModelGateway:
        return ModelGateway(self.backend, sink)

    async def extract(self, task: ExtractTask[T], *, text: str, **variables: Any) -> Extraction[T]:
        return await self._call(
            "extract", task.name, self.backend.extract(task, text, variables), len(text)
        )

    async def classify(self, task: ClassifyTask, *, text: str, **variables: Any) -> Classification:
        def in_set(result: Classification) -> None:
            if result.label not in task.labels:
                raise ModelError(
                    f"{task.name}: label {result.label!r} is not one of {list(task.labels)}"
                )

        return await self._call(
            "classify",
            task.name,
            self.backend.classify(task, text, variables),
            len(text),
            check=in_set,
        )

    async def generate(self, task: GenerateTask, **variables: Any) -> Generation:
        return await self._call("generate", task.name, self.backend.generate(task, variables), None)

    @property
    def plans_with_model(self) -> bool:
        """Whether `plan` asks a model (else the flow's rule planner decides)."""
        return bool(getattr(self.backend, "plans_with_model", False))

    async def plan(
        self, task: PlanTask[T], *, tools: list[Tool], text: str, **variables: Any
    ) -> Planning[T]:
        """The model's proposal after calling `tools`, recorded as one `model_call` event
        (rounds, tool names, tokens). Never raises for the model's sake: on a backend that
        cannot plan, or when the planning fails (transport, loop cut off, unknown tool, no
        valid proposal), the answer says so and names the rule planner as the one to decide.
        """
        backend = self.backend
        if not self.plans_with_model or not hasattr(backend, "plan"):
            return Planning[T](
                planner="rules", reason=f"the {backend.name} backend has no model planner"
            )
        planning: PlanningBackend = backend  # type: ignore[assignment]

        def described(result: Planning[T]) -> dict[str, Any]:
            return {
                "planner": result.planner,
                "rounds": result.rounds,
                "tool_calls": [t.model_dump() for t in result.tools],
            }

        try:
            return await self._call(
                "plan",
                task.name,
                planning.plan(task, tools, text, variables),
                len(text),
                extra=described,
            )
        except ModelError as exc:
            return Planning[T](planner="rules", reason=f"the model planner failed: {exc}")

    async def _call(
        self,
        kind: str,
        task: str,
        call: Awaitable[tuple[R, Usage, RenderedPrompt | None]],
        input_chars: int | None,
        check: Callable[[R], None] | None = None,
        extra: Callable[[R], dict[str, Any]] | None = None,
    ) -> R:
        """Awaits one backend call and records it, failed or not, as one `model_call` event."""
        started = time.perf_counter()
        payload: dict[str, Any] = {
            "task": kind,
            "name": task,
            "backend": self.backend.name,
            "model": self.backend.model,
            "input_chars": input_chars,
        }
        try:
            result, usage, prompt = await call
            if check is not None:
                check(result)
        except Exception as exc:
            payload.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            self._record(payload, started)
            if isinstance(exc, ModelError):
                raise
            raise ModelError(f"{kind} {task} failed on {self.backend.name}: {exc}") from exc
        payload.update(
            ok=True,
            template=prompt.name if prompt else None,
            template_sha256=prompt.template_sha256 if prompt else None,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            confidence=getattr(result, "confidence", None),
        )
        if isinstance(result, Classification):
            payload["label"] = result.label
        if extra is not None:
            payload.update(extra(result))
        self._record(payload, started)
        return result

    def _record(self, payload: dict[str, Any], started: float) -> None:
        if self.sink is not None:
            self.sink.record(
                "model_call",
                payload,
                node=current_node(),
                duration_ms=(time.perf_counter() - started) * 1000,
            )
