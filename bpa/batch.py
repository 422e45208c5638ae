"""Many inputs through one flow with bounded concurrency: used by `bpa batch`, demos, the API."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bpa.errors import IdempotencyConflict, InvalidInput
from bpa.explain import describe
from bpa.runs.runner import Runner
from bpa.runs.tables import Run, new_id

__all__ = ["BatchItem", "BatchResult", "expand_paths", "run_batch"]


@dataclass
class BatchItem:
    input: str
    run_id: str | None
    status: str
    output: dict[str, Any] | None
    error: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "run_id": self.run_id,
            "status": self.status,
            "output": self.output,
            "error": self.error,
        }

    @property
    def reason(self) -> str:
        if self.error:
            return str(self.error.get("code", "error"))
        issues = (self.output or {}).get("issues") or []
        if self.status == "waiting" and issues:
            return ",".join(sorted({i["code"] for i in issues}))
        return str((self.output or {}).get("decision") or "")


@dataclass
class BatchResult:
    batch_id: str
    items: list[BatchItem] = field(default_factory=list)

    def summary(self) -> Counter[tuple[str, str]]:
        return Counter((item.status, item.reason) for item in self.items)


def expand_paths(paths: Iterable[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Files as given; folders expanded (not recursively) to files with the flow's suffixes."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes
            )
        else:
            found.append(path)
    return found


def _why(exc: Exception) -> str:
    """An input's refusal in one line (the runner's own refusals already are)."""
    if isinstance(exc, ValidationError):
        return f"{exc.title}: {describe(exc)}"
    return str(exc) if isinstance(exc, InvalidInput) else f"{type(exc).__name__}: {exc}"


def _item(label: str, run: Run) -> BatchItem:
    return BatchItem(label, run.id, str(run.status), run.output, run.error)


async def run_batch(
    runner: Runner,
    flow_name: str,
    inputs: Sequence[tuple[str, Callable[[], dict[str, Any]]]],
    *,
    concurrency: int = 4,
    trigger: str = "batch",
    key_prefix: str | None = None,
    on_done: Callable[[BatchItem], None] | None = None,
) -> BatchResult:
    """Run each `(label, load)` input; a failure of one never stops the others.

    `key_prefix` makes the batch idempotent: re-running it returns the earlier runs.
    """
    result = BatchResult(batch_id=new_id("batch"))
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(label: str, load: Callable[[], dict[str, Any]]) -> BatchItem:
        async with gate:
            try:
                payload = load()
                run = await runner.start(
                    flow_name,
                    payload,
                    trigger=trigger,
                    batch_id=result.batch_id,
                    idempotency_key=f"{key_prefix}:{label}" if key_prefix else None,
                )
                item = _item(label, run)
            except (ValidationError, IdempotencyConflict, OSError, ValueError) as exc:
                item = BatchItem(
                    label, None, "rejected", None, {"code": "invalid_input", "message": _why(exc)}
                )
            if on_done:
                on_done(item)
            return item

    result.items = list(await asyncio.gather(*(one(label, load) for label, load in inputs)))
    return result
