"""The sales-operations flow end to end on the public CRM Sales Opportunities set, 1x to 10x.

For each scale: a fresh suite home; the set imported into the mocked CRM with the connector's
`import_maven_dataset`, then made `scale` times as large with `scale_up`; then, each in its
own process so the numbers do not mix:

- a timed run: one full review (collection from an empty snapshot, report, drafts, tasks),
  wall time and the process's peak RSS before and after it, then a second, incremental review;
- a traced run (on an untouched copy of the same data): tracemalloc's peak of Python
  allocations during one full review.

Aims: the full public set (8,800 deals) in under 10 s; memory growing no faster than the
data (peak / deals flat or falling from 1x to 10x).

    python benchmarks/sales_ops_scale.py [--dataset PATH] [--scales 1,2,5,10]

Exits 2 when the data set is missing (it is not in the repo: no stated licence).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "crm-sales-opportunities"
AS_OF = "2017-12-31"  # the last date in the public set
FLOW = "sales_operations"


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def prepare(home: Path, dataset: Path, scale: int) -> dict[str, Any]:
    from bpa.config import Settings
    from connectors.crm import MockCRMConnector
    from connectors.schemas import ImportDataset

    settings = Settings(home=home)
    settings.ensure_home()
    crm = MockCRMConnector({"database_url": settings.resolved_database_url()})
    started = time.perf_counter()
    crm.import_maven_dataset(ImportDataset(path=str(dataset)))
    crm.scale_up(scale)
    return {
        "deals": crm.sales_counts()["opportunities"],
        "prepare_s": round(time.perf_counter() - started, 2),
    }


async def _review(suite: Any, **extra: Any) -> tuple[Any, float, float]:
    """The run, its wall seconds and this process's CPU seconds (the machine may be shared:
    CPU time is the steadier measure of the flow's own cost)."""
    started, cpu = time.perf_counter(), time.process_time()
    run = await suite.runner.start(FLOW, {"as_of": AS_OF, **extra}, trigger="benchmark")
    return run, time.perf_counter() - started, time.process_time() - cpu


def _node_times(suite: Any, run_id: str) -> dict[str, float]:
    return {
        e.node: round((e.duration_ms or 0) / 1000, 2)
        for e in suite.store.events(run_id)
        if e.kind == "node_finished" and e.node
    }


async def measure(home: Path, traced: bool) -> dict[str, Any]:
    from bpa.config import Settings
    from bpa.suite import Suite

    async with Suite.open(Settings(home=home)) as suite:
        suite.runner.graph(FLOW)
        rss_before = _maxrss_mb()
        if traced:
            tracemalloc.start()
        run, seconds, cpu = await _review(suite)
        if traced:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            return {"status": str(run.status), "traced_peak_mb": round(peak / 2**20, 1)}
        rss_after = _maxrss_mb()
        again, again_s, again_cpu = await _review(suite)
        out = run.output or {}
        return {
            "status": str(run.status),
            "error": run.error,
            "full_s": round(seconds, 2),
            "full_cpu_s": round(cpu, 2),
            "incremental_s": round(again_s, 2),
            "incremental_cpu_s": round(again_cpu, 2),
            "incremental_status": str(again.status),
            "load": round(os.getloadavg()[0], 1),
            "rss_before_mb": round(rss_before, 1),
            "rss_peak_mb": round(rss_after, 1),
            "tasks_created": out.get("tasks_created"),
            "tasks_created_again": (again.output or {}).get("tasks_created"),
            "nodes": _node_times(suite, run.id),
        }


def _child(dataset: Path, *args: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--dataset", str(dataset), "--child", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--scales", default="1,2,5,10")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, home = args.child[0], Path(args.child[1])
        if kind == "prepare":
            result = prepare(home, args.dataset, int(args.child[2]))
        else:
            result = asyncio.run(measure(home, traced=kind == "traced"))
        print(json.dumps(result))
        return 0
    if not (args.dataset / "sales_pipeline.csv").is_file():
        print(
            f"data set not found at {args.dataset}: this benchmark reads the public CRM Sales "
            "Opportunities set from ../shared/datasets (see its README); it is not in the repo"
        )
        return 2
    rows = []
    for scale in (int(s) for s in args.scales.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp) / "base"
            prepared = _child(args.dataset, "prepare", str(base), str(scale))
            shutil.copytree(base, Path(tmp) / "traced")
            timed = _child(args.dataset, "timed", str(base))
            traced = _child(args.dataset, "traced", str(Path(tmp) / "traced"))
        row = {"scale": scale, **prepared, **timed, **traced}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    _table(rows)
    return 0


def _table(rows: list[dict[str, Any]]) -> None:
    head = (
        "scale",
        "deals",
        "full s",
        "full cpu s",
        "incr s",
        "incr cpu s",
        "RSS base MB",
        "RSS peak MB",
        "RSS +MB",
        "traced MB",
        "KB/deal",
        "tasks 1st/2nd",
        "load",
    )
    print("  ".join(f"{h:>11}" for h in head))
    for r in rows:
        grown = r["rss_peak_mb"] - r["rss_before_mb"]
        cells = (
            r["scale"],
            f"{r['deals']:,}",
            r["full_s"],
            r["full_cpu_s"],
            r["incremental_s"],
            r["incremental_cpu_s"],
            r["rss_before_mb"],
            r["rss_peak_mb"],
            round(grown, 1),
            r["traced_peak_mb"],
            round(r["traced_peak_mb"] * 1024 / r["deals"], 1),
            f"{r['tasks_created']}/{r['tasks_created_again']}",
            r["load"],
        )
        print("  ".join(f"{c!s:>11}" for c in cells))
    print("\nslowest nodes of the full review:")
    for r in rows:
        top = sorted(r["nodes"].items(), key=lambda kv: -kv[1])[:5]
        print(f"  {r['scale']:>2}x: " + ", ".join(f"{n} {s}s" for n, s in top))


if __name__ == "__main__":
    sys.exit(main())
