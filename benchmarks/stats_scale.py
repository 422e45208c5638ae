"""How long `bpa stats` and a `/metrics` scrape spend on their queries, by number of runs.

Issue #12 (part 5) asks for automation health per flow and version, cheap enough to scrape
with 100k runs. This writes `--runs` synthetic runs into a fresh database (SQLite in a
temporary folder, or `--database-url`), spread over three flows and two versions each, with
`--events` audit events per run (two of them `model_call`), a question on a fifth of them
and a correction on a twentieth, then times `bpa.runs.stats.flow_stats` `--repeat` times.

    python benchmarks/stats_scale.py --runs 5000 --runs 100000 [--events 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, insert

from bpa.db import create_schema, make_engine, table_of
from bpa.runs.stats import flow_stats
from bpa.runs.tables import Approval, Run, RunEvent

_STATUSES = ["succeeded"] * 14 + ["failed", "waiting", "cancelled", "rolled_back", "queued"]


def populate(engine: Engine, runs: int, events: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    numbered = "seq" in table_of(RunEvent).c  # the audit chain numbers each run's events
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    run_rows, event_rows, approval_rows = [], [], []
    for i in range(runs):
        run_id = f"run_{i:012d}"
        status = rng.choice(_STATUSES)
        created = start + dt.timedelta(seconds=i * 7)
        finished = None
        if status not in ("queued", "waiting"):
            finished = created + dt.timedelta(seconds=rng.lognormvariate(0.5, 1.0))
        run_rows.append(
            {
                "id": run_id,
                "flow": rng.choice(["invoice_processing", "customer_service", "sales_operations"]),
                "flow_version": rng.choice(["7d5fdd9f3ebc", "35f619bfcf7e"]),
                "status": status,
                "trigger": "api",
                "input": {"n": i},
                "attempts": 0 if status == "queued" else 1,
                "created_at": created,
                "started_at": None if status == "queued" else created,
                "finished_at": finished,
                "updated_at": created,
            }
        )
        for k in range(events if status != "queued" else 1):
            kind = "model_call" if k in (2, 3) else "node_finished"
            row = {
                "run_id": run_id,
                "kind": kind,
                "node": "n",
                "payload": {},
                "created_at": created,
            }
            event_rows.append({**row, "seq": k} if numbered else row)
        if i % 5 == 0 and status != "queued":
            correct = i % 20 == 0
            decision = {
                "action": "correct" if correct else "approve",
                "corrections": {"total": "12.50", "iban": None} if correct else {},
            }
            approval_rows.append(
                {
                    "id": f"apr_{i:012d}",
                    "run_id": run_id,
                    "node": "request_review",
                    "interrupt_id": f"i{i}",
                    "question": {},
                    "status": "pending" if status == "waiting" else "decided",
                    "decision": None if status == "waiting" else decision,
                    "created_at": created,
                }
            )
    with engine.begin() as conn:
        for table, rows in (
            (table_of(Run), run_rows),
            (table_of(RunEvent), event_rows),
            (table_of(Approval), approval_rows),
        ):
            for chunk in range(0, len(rows), 20_000):
                conn.execute(insert(table), rows[chunk : chunk + 20_000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, action="append", help="repeatable")
    parser.add_argument("--events", type=int, default=20, help="audit events per run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    for runs in args.runs or [5000]:
        with tempfile.TemporaryDirectory() as home:
            engine = make_engine(args.database_url or f"sqlite:///{Path(home) / 'bpa.db'}")
            create_schema(engine)
            began = time.perf_counter()
            populate(engine, runs, args.events)
            filled = time.perf_counter() - began
            timings = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                stats = flow_stats(engine)
                timings.append(time.perf_counter() - began)
            print(
                f"{runs:>7} runs, {runs * args.events:>8} events ({filled:.1f} s to write): "
                f"flow_stats median {statistics.median(timings) * 1000:.0f} ms "
                f"(min {min(timings) * 1000:.0f}, max {max(timings) * 1000:.0f}); "
                f"{len(stats)} flow versions"
            )
            engine.dispose()


if __name__ == "__main__":
    main()
