"""Engine overhead: the invoice flow through the full engine vs the same graph invoked bare.

Full engine: run rows, the audit trail (node, model and connector events), the SQLite
checkpointer. Bare: the same compiled graph with LangGraph's in-memory checkpointer and no
audit sink. Both use the offline backend and a freshly seeded mocked accounting system, on
the same synthetic invoices, one at a time, in this one process. Prints the rates and the
ratio (full time / bare time; the aim is <= 1.5).

The full engine runs twice: with the flow's own checkpoint durability (the invoice flow
declares "exit": checkpoints when a run stops or asks a human; a crash re-executes the run,
its connector actions replayed by idempotency key) and with per-step checkpoints ("async",
what long flows use), so the cost of each choice is visible.

    python benchmarks/engine_overhead.py [--count 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from rich.console import Console
from rich.progress import track
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic_invoices import FIXTURES, synthetic_invoices

from bpa.config import Settings
from bpa.documents import DocumentStore
from bpa.models import ModelGateway
from bpa.models.offline import OfflineBackend
from bpa.runs.context import ConnectorHub, RunContext
from bpa.suite import Suite
from connectors.accounting import MockAccountingConnector
from flows.invoice_processing import flow

console = Console()


class _NoAudit:
    def record(self, kind: str, payload: dict[str, Any], **_: Any) -> None:
        return None

    def begin_effect(self, payload: dict[str, Any], **_: Any) -> bool:
        return True

    def end_effect(self, payload: dict[str, Any], **_: Any) -> None:
        return None


async def bare(texts: list[str], home: Path) -> tuple[list[float], dict[str, int]]:
    settings = Settings(home=home, fixtures_dir=FIXTURES)
    settings.ensure_home()
    accounting = MockAccountingConnector(
        {"database_url": settings.resolved_database_url(), "seed": str(FIXTURES / "accounting")}
    )
    backend = OfflineBackend()
    sink = _NoAudit()
    await backend.warm_up(list(flow.classify_tasks))
    graph = flow.build_graph().compile(checkpointer=InMemorySaver())
    times, outcomes = [], {"done": 0, "waiting": 0, "failed": 0}
    for i, text in enumerate(track(texts, description="bare graph   ", console=console)):
        ctx = RunContext(
            run_id=f"bare-{i}",
            flow=flow.name,
            settings=settings,
            models=ModelGateway(backend, sink),
            connectors=ConnectorHub({"accounting": accounting}, sink),
            documents=DocumentStore(home / "docs", max_bytes=settings.max_document_bytes),
            audit=sink,
        )
        started = time.perf_counter()
        try:
            state = await graph.ainvoke(
                {"text": text}, {"configurable": {"thread_id": f"bare-{i}"}}, context=ctx
            )
            outcomes["waiting" if "__interrupt__" in state else "done"] += 1
        except Exception:
            outcomes["failed"] += 1
        times.append(time.perf_counter() - started)
    return times, outcomes


async def full(
    texts: list[str], home: Path, durability: str | None = None
) -> tuple[list[float], dict[str, int]]:
    settings = Settings(home=home, fixtures_dir=FIXTURES)
    times, outcomes = [], {"done": 0, "waiting": 0, "failed": 0}
    async with Suite.open(settings) as suite:
        suite.runner.durability = durability  # type: ignore[assignment]
        await suite.runner.models.backend.warm_up(list(flow.classify_tasks))  # type: ignore[attr-defined]
        for text in track(texts, description="full engine  ", console=console):
            started = time.perf_counter()
            run = await suite.runner.start(flow.name, {"text": text}, trigger="benchmark")
            times.append(time.perf_counter() - started)
            key = {"succeeded": "done", "waiting": "waiting"}.get(str(run.status), "failed")
            outcomes[key] += 1
    return times, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    texts = synthetic_invoices(args.count)
    with tempfile.TemporaryDirectory() as tmp:
        warm = synthetic_invoices(5, seed=99)
        asyncio.run(bare(warm, Path(tmp) / "warm"))  # imports, dateparser's data
        bare_t, bare_o = asyncio.run(bare(texts, Path(tmp) / "bare"))
        full_t, full_o = asyncio.run(full(texts, Path(tmp) / "full"))
        step_t, step_o = asyncio.run(full(texts, Path(tmp) / "step", durability="async"))
    table = Table(title=f"invoice flow, {args.count} text invoices, offline backend")
    for column in (
        "mode",
        "runs/s",
        "mean ms",
        "p50 ms",
        "p95 ms",
        "succeeded",
        "waiting",
        "failed",
    ):
        table.add_column(column, justify="right")
    rows = (
        ("bare graph", bare_t, bare_o),
        (f"full engine ({flow.durability})", full_t, full_o),
        ("full engine (async)", step_t, step_o),
    )
    for name, times, outcome in rows:
        ms = sorted(t * 1000 for t in times)
        table.add_row(
            name,
            f"{len(times) / sum(times):.1f}",
            f"{statistics.fmean(ms):.1f}",
            f"{ms[len(ms) // 2]:.1f}",
            f"{ms[int(len(ms) * 0.95)]:.1f}",
            str(outcome["done"]),
            str(outcome["waiting"]),
            str(outcome["failed"]),
        )
    console.print(table)
    for label, times in ((flow.durability, full_t), ("async", step_t)):
        ratio = sum(times) / sum(bare_t)
        verdict = "[green]within[/green]" if ratio <= 1.5 else "[red]over[/red]"
        console.print(
            f"overhead ratio, checkpoints {label!r} (full / bare time): "
            f"[bold]{ratio:.2f}[/bold] ({verdict} the 1.5 aim)"
        )


if __name__ == "__main__":
    main()
