"""Engine overhead: the invoice flow through the full engine vs the same graph invoked bare.

Full engine: run rows, leases, the audit trail (node, model and connector events), through
`Runner.start`. Bare: the same graph, compiled once, invoked directly with no run rows and no
audit sink. Both arms are alike in everything else:

- the same checkpoints: each arm has the engine's own SQLite checkpointer (in its own home)
  and the same durability (the flow's own, "exit" for the invoice flow, or `--durability`);
- the same cross-run memory store (`runtime.store`: the invoice flow's vendor memory looks
  the vendor up and reads its memory in every run that has one);
- the offline backend with its classifiers warmed up, a freshly seeded mocked accounting
  system each, the same synthetic invoices, one run at a time, in this one process;
- the arms alternate per invoice (bare then engine, then engine then bare, ...), so that
  machine drift (frequency, cache, a neighbour) falls on both alike.

Prints each arm's mean and median ms per run and the ratio (engine time / bare time, the
aim is <= 1.2), with the ratio over the first and the second half of the invoices as its
spread.

    python benchmarks/engine_overhead.py [--count 400] [--durability exit|async|sync]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, cast

from langgraph.types import Durability
from rich.console import Console
from rich.progress import track
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic_invoices import FIXTURES, synthetic_invoices

from bpa.checkpoints import open_checkpointer, open_memory_store
from bpa.config import Settings
from bpa.documents import DocumentStore
from bpa.models import ModelGateway
from bpa.models.offline import OfflineBackend
from bpa.runs.context import ConnectorHub, RunContext
from bpa.suite import Suite
from connectors.accounting import MockAccountingConnector
from flows.invoice_processing import flow

console = Console()
AIM = 1.2

#: One run of one arm: the invoice text in, its outcome ("done", "waiting", "failed") out.
Arm = Callable[[str], Awaitable[str]]


class _NoAudit:
    def record(self, kind: str, payload: dict[str, Any], **_: Any) -> None:
        return None

    def begin_effect(self, payload: dict[str, Any], **_: Any) -> bool:
        return True

    def end_effect(self, payload: dict[str, Any], **_: Any) -> None:
        return None

    def unwritten(self, connector: str, key: str) -> None:
        return None


@asynccontextmanager
async def bare_arm(home: Path, durability: Durability) -> AsyncIterator[Arm]:
    """The graph alone, with the engine's checkpointer: what a hand-written loop would run."""
    settings = Settings(_env_file=None, home=home, fixtures_dir=FIXTURES)  # type: ignore[call-arg]
    settings.ensure_home()
    accounting = MockAccountingConnector(
        {"database_url": settings.resolved_database_url(), "seed": str(FIXTURES / "accounting")}
    )
    backend = OfflineBackend()
    await backend.warm_up(list(flow.classify_tasks))
    sink = _NoAudit()
    models = ModelGateway(backend, sink)
    connectors = ConnectorHub({"accounting": accounting}, sink)
    documents = DocumentStore(home / "docs", max_bytes=settings.max_document_bytes)
    serial = iter(range(1_000_000_000))
    async with open_checkpointer(settings) as checkpointer, open_memory_store(settings) as memory:
        graph = flow.build_graph().compile(checkpointer=checkpointer, store=memory, name=flow.name)

        async def run(text: str) -> str:
            thread = f"bare-{next(serial)}"
            ctx = RunContext(
                run_id=thread,
                flow=flow.name,
                settings=settings,
                models=models,
                connectors=connectors,
                documents=documents,
                audit=sink,
            )
            try:
                state = await graph.ainvoke(  # type: ignore[call-overload]
                    {"text": text},
                    {"configurable": {"thread_id": thread}},
                    context=ctx,
                    durability=durability,
                )
            except Exception:
                return "failed"
            return "waiting" if "__interrupt__" in state else "done"

        try:
            yield run
        finally:
            await accounting.aclose()


@asynccontextmanager
async def engine_arm(home: Path, durability: Durability) -> AsyncIterator[Arm]:
    """The full engine: `Runner.start` records, leases, audits and checkpoints each run."""
    settings = Settings(_env_file=None, home=home, fixtures_dir=FIXTURES)  # type: ignore[call-arg]
    async with Suite.open(settings) as suite:
        suite.runner.durability = durability
        await suite.runner.models.backend.warm_up(list(flow.classify_tasks))  # type: ignore[attr-defined]

        async def run(text: str) -> str:
            done = await suite.runner.start(flow.name, {"text": text}, trigger="benchmark")
            return {"succeeded": "done", "waiting": "waiting"}.get(str(done.status), "failed")

        yield run


async def measure(
    texts: list[str], warm: list[str], work: Path, durability: Durability
) -> dict[str, tuple[list[float], Counter[str]]]:
    async with AsyncExitStack() as stack:
        arms = {
            "bare graph": await stack.enter_async_context(bare_arm(work / "bare", durability)),
            "full engine": await stack.enter_async_context(engine_arm(work / "full", durability)),
        }
        for text in warm:  # imports, dateparser's data, compiled graphs, prepared statements
            for arm in arms.values():
                await arm(text)
        results: dict[str, tuple[list[float], Counter[str]]] = {
            name: ([], Counter()) for name in arms
        }
        order = list(arms)
        for i, text in enumerate(track(texts, description="bare, engine", console=console)):
            for name in order if i % 2 == 0 else reversed(order):
                started = time.perf_counter()
                outcome = await arms[name](text)
                results[name][0].append(time.perf_counter() - started)
                results[name][1][outcome] += 1
        return results


def _ratio(engine: list[float], bare: list[float]) -> float:
    return sum(engine) / sum(bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument(
        "--durability",
        choices=("exit", "async", "sync"),
        default=flow.durability,
        help=f"checkpoints in both arms (default: the flow's own, {flow.durability!r})",
    )
    args = parser.parse_args()
    texts, warm = synthetic_invoices(args.count), synthetic_invoices(10, seed=99)
    durability = cast(Durability, args.durability)
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(measure(texts, warm, Path(tmp), durability))
    table = Table(
        title=f"invoice flow, {args.count} text invoices, offline backend, "
        f"checkpoints {args.durability!r} in both arms, arms alternating"
    )
    for column in ("arm", "runs/s", "mean ms", "median ms", "p95 ms", "done", "waiting", "failed"):
        table.add_column(column, justify="right")
    for name, (times, outcome) in results.items():
        ms = sorted(t * 1000 for t in times)
        table.add_row(
            name,
            f"{len(times) / sum(times):.1f}",
            f"{statistics.fmean(ms):.2f}",
            f"{statistics.median(ms):.2f}",
            f"{ms[int(len(ms) * 0.95)]:.2f}",
            str(outcome["done"]),
            str(outcome["waiting"]),
            str(outcome["failed"]),
        )
    console.print(table)
    bare, engine = results["bare graph"][0], results["full engine"][0]
    half = len(bare) // 2
    ratio = _ratio(engine, bare)
    first, second = _ratio(engine[:half], bare[:half]), _ratio(engine[half:], bare[half:])
    medians = statistics.median(engine) / statistics.median(bare)
    verdict = "[green]within[/green]" if ratio <= AIM else "[red]over[/red]"
    console.print(
        f"overhead ratio (engine / bare time): [bold]{ratio:.2f}[/bold] "
        f"(first half {first:.2f}, second half {second:.2f}; medians {medians:.2f}); "
        f"{verdict} the {AIM} aim; engine adds {(sum(engine) - sum(bare)) / len(bare) * 1000:.2f} "
        "ms per run"
    )


if __name__ == "__main__":
    main()
