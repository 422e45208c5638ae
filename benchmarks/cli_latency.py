"""CLI latency: `bpa --help`, `bpa runs list` and `bpa runs show ID` as a user types them.

Issue #11 (part 7) asks `bpa runs list` on 2,000 runs to answer in under 0.8 s of wall time;
`--help` and `runs show` should too. This harness:

- creates a fresh home (BPA_HOME in a temporary folder: SQLite, like a default install) and
  writes `--runs` runs into it through the store (`RunStore.insert_queued`, one transaction:
  a mix of statuses, outputs and errors over the last 30 days), plus an audit trail of
  `--events` events and a question on the run that `runs show` shows;
- times each command as its own process (the installed `bpa` script, cwd = the home, no
  BPA_* variables but BPA_HOME), `--repeat` times after one warm-up, and prints the median,
  min and max wall time, the CPU time and peak memory of the median run;
- measures in the same run the baseline every command pays, `python -c pass` (interpreter
  start-up), and prints each command's median as a multiple of it, against the aim; and the
  floor no command can go below without dropping a library: importing typer, rich,
  pydantic-settings and SQLModel alone.

Byte-code: the children write and reuse compiled byte-code under the home (PYTHONPYCACHEPREFIX),
as an installed package does, even where the shell sets PYTHONDONTWRITEBYTECODE;
`--no-bytecode` leaves the environment as it is (every run compiles the repo's sources).

`--source DIR` times another checkout of the repo (e.g. `git archive HEAD | tar -x -C DIR`):
the children import `bpa`, `flows` and `connectors` from DIR, and DIR's code creates the home.

    python benchmarks/cli_latency.py [--runs 2000] [--repeat 7] [--source DIR] [--no-bytecode]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(width=110)
#: The issue's aim for `bpa runs list` on 2,000 runs, used for every command timed here.
AIM_S = 0.8
#: What any command imports before doing anything: the CLI, settings and the database layer.
FLOOR = ("typer", "rich.table", "pydantic_settings", "sqlmodel")
_STATUSES = (["succeeded"] * 14) + (["failed"] * 2) + (["waiting"] * 3) + ["cancelled"]
_FLOWS = ("invoice_processing", "customer_service", "sales_operations")


# -- the home: runs written through the store (runs in a child, with the code under test) ---
def seed(home: Path, count: int, events: int) -> str:
    """`count` runs in a fresh home; returns the id of the newest, which has the audit trail."""
    from bpa.config import Settings
    from bpa.db import create_schema, open_engine
    from bpa.runs.store import QueuedRun, RunStore, request_hash
    from bpa.runs.tables import RunEvent

    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    engine = open_engine(settings)
    create_schema(engine)
    store = RunStore(engine)
    rng = random.Random(11)
    now = dt.datetime.now(dt.UTC)
    queued: list[QueuedRun] = []
    for i in range(count):
        flow = _FLOWS[i % len(_FLOWS)]
        payload = {"document_ref": f"doc_{i:05d}", "source": "benchmark"}
        run = QueuedRun.new(
            flow=flow,
            flow_version="1.0.0",
            input=payload,
            trigger=rng.choice(("api", "cli", "batch", "schedule")),
            request_hash=request_hash(flow, payload),
        )
        created = now - dt.timedelta(seconds=(count - i) * 1300 + rng.randint(0, 600))
        status = rng.choice(_STATUSES)
        run.row.update(
            status=status,
            created_at=created,
            started_at=created + dt.timedelta(milliseconds=5),
            updated_at=created + dt.timedelta(seconds=2),
            finished_at=None if status == "waiting" else created + dt.timedelta(seconds=2),
            attempts=1,
            output=None
            if status == "failed"
            else {
                "decision": "needs_approval" if status == "waiting" else "auto_approved",
                "issues": [{"code": "total_above_threshold"}] if status == "waiting" else [],
                "total": f"{rng.randint(10, 90_000)}.00",
            },
            error={"code": "document_unreadable", "message": "no text layer"}
            if status == "failed"
            else None,
        )
        run.created["created_at"] = created
        queued.append(run)
    store.insert_queued(queued)
    shown = str(queued[-1].row["id"])
    trail = [
        RunEvent(
            run_id=shown,
            kind=("node_started", "model_call", "connector_call", "node_finished")[i % 4],
            node=f"node_{i // 4}",
            payload={"task": "extract", "name": "invoice", "backend": "offline", "ok": True}
            if i % 4 == 1
            else {"connector": "accounting", "action": "create_bill", "ok": True}
            if i % 4 == 2
            else {"update": {"fields": 1, "issues": 0}},
            duration_ms=rng.uniform(0.5, 40.0),
        )
        for i in range(events)
    ]
    store.add_events(trail)
    store.open_approval(
        shown,
        node="approve",
        interrupt_id="bench",
        question={"title": "Approve invoice over 5,000", "reasons": ["total above threshold"]},
    )
    engine.dispose()
    return shown


# -- timing --------------------------------------------------------------------------------
@dataclass
class Sample:
    wall_s: float
    cpu_s: float
    max_rss_mb: float


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> Sample:
    """One process: wall time from spawn to exit, its CPU time and peak memory (wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    error = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{error.decode()[-3000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def measure(argv: list[str], env: dict[str, str], cwd: Path, repeat: int) -> list[Sample]:
    run_once(argv, env, cwd)  # warm-up: byte-code written, files in the page cache
    return [run_once(argv, env, cwd) for _ in range(repeat)]


def child_env(home: Path, source: Path | None, bytecode: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPA_")}
    env["BPA_HOME"] = str(home)
    env["COLUMNS"] = "160"
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    return env


def bpa_command() -> list[str]:
    script = Path(sys.executable).parent / "bpa"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bpa.cli import app; sys.argv[0] = 'bpa'; app()"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs in the home")
    parser.add_argument("--events", type=int, default=60, help="audit events on the shown run")
    parser.add_argument("--repeat", type=int, default=7, help="timed processes per command")
    parser.add_argument("--source", type=Path, help="time this checkout instead")
    parser.add_argument("--no-bytecode", action="store_true", help="inherit byte-code settings")
    parser.add_argument("--keep", action="store_true", help="keep the home and print its path")
    parser.add_argument("--seed", type=Path, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.seed is not None:
        print(json.dumps({"shown": seed(args.seed, args.runs, args.events)}))
        return

    root = Path(tempfile.mkdtemp(prefix="bpa-cli-latency-"))
    home = root / "home"
    source = args.source.resolve() if args.source else None
    env = child_env(home, source, bytecode=not args.no_bytecode)
    try:
        started = time.perf_counter()
        seed_argv = ["--seed", str(home), "--runs", str(args.runs), "--events", str(args.events)]
        seeded = subprocess.run(
            [sys.executable, __file__, *seed_argv],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
        )
        if seeded.returncode != 0:
            raise SystemExit(f"writing the runs failed:\n{seeded.stderr[-3000:]}")
        shown = json.loads(seeded.stdout)["shown"]
        console.print(
            f"home {home}: {args.runs} runs written in {time.perf_counter() - started:.1f} s "
            f"(code: {source or 'this checkout'}; byte-code "
            f"{'as the environment says' if args.no_bytecode else 'cached'})"
        )
        bpa = bpa_command()
        listed = subprocess.run(
            [*bpa, "runs", "list", "--json"], env=env, cwd=home, capture_output=True, text=True
        )
        if listed.returncode != 0 or len(json.loads(listed.stdout)) != 30:
            raise SystemExit(f"`bpa runs list --json` did not list 30 runs:\n{listed.stderr}")

        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "libraries alone (floor)": [sys.executable, "-c", f"import {', '.join(FLOOR)}"],
            "bpa --help": [*bpa, "--help"],
            "bpa runs list": [*bpa, "runs", "list"],
            "bpa runs show ID": [*bpa, "runs", "show", shown],
        }
        results = {name: measure(argv, env, home, args.repeat) for name, argv in commands.items()}
        report(results, args.repeat)
    finally:
        if args.keep:
            console.print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def report(results: dict[str, list[Sample]], repeat: int) -> None:
    baseline = statistics.median(s.wall_s for s in next(iter(results.values())))
    table = Table(title=f"wall time per process, {repeat} runs each after a warm-up")
    for column in ("command", "median s", "min s", "max s", "CPU s", "peak MB", "x baseline"):
        table.add_column(column, justify="left" if column == "command" else "right")
    table.add_column(f"aim < {AIM_S} s")
    for index, (name, samples) in enumerate(results.items()):
        walls = sorted(s.wall_s for s in samples)
        median = statistics.median(walls)
        middle = sorted(samples, key=lambda s: s.wall_s)[len(samples) // 2]
        verdict = "" if index < 2 else "[green]met[/]" if median < AIM_S else "[red]missed[/]"
        table.add_row(
            name,
            f"{median:.3f}",
            f"{walls[0]:.3f}",
            f"{walls[-1]:.3f}",
            f"{middle.cpu_s:.3f}",
            f"{middle.max_rss_mb:.0f}",
            f"{median / baseline:.1f}",
            verdict,
        )
    console.print(table)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(
        f"load average {load:.2f} on {os.cpu_count()} CPUs: on a busy machine, compare the "
        "CPU column and the multiples of the baseline rather than the wall times."
    )


if __name__ == "__main__":
    main()
