"""Load on the HTTP API, embedded and distributed side by side: latency, lost runs, drain.

One command::

    /work/venv/bin/python benchmarks/api_load.py [--requests 300] [--levels 16,64]
        [--mode both|embedded|distributed|split] [--postgres URL] [--redis URL]

Two layouts, each on a free loopback port with a temporary BPA_HOME and the offline model:

- `embedded`: `bpa serve` (the API, the worker processes it starts and its scheduler) on
  SQLite in the home (`--postgres` moves it to a temporary PostgreSQL database).
- `distributed`: PostgreSQL (a temporary database, dropped after; runs and checkpoints) and
  Redis (a database index of its own, flushed before and after; the Celery broker), with
  `bpa serve --workers 0 --no-scheduler`, two `bpa worker` processes and one
  `bpa scheduler` (it sweeps), all with the same environment. Skipped, with the reason, when
  PostgreSQL or Redis does not answer.

`split` (`bpa serve --workers 0 --no-scheduler` plus one `bpa worker`, without a broker) is
still there on its own. For each layout the benchmark sends `POST /flows/invoice_processing/runs`
with text invoices from a bounded number of concurrent clients per level, waits until every
created run has settled and checks count in = count out (no run lost). For the distributed
layout it then measures drain scaling: the same number of runs created with no worker
running, then one (then two) `bpa worker` processes started and timed until all settled.
It prints a table per layout and one side by side, with the aims and whether each is met.

The clients speak HTTP/1.1 over raw asyncio streams with keep-alive: a general-purpose client
costs more CPU per request than the server under test, on the same machine, and would be what
the latencies measure. Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "fixtures" / "invoices" / "txt_01_nordisk_en.txt"
FLOW = "invoice_processing"
SETTLED = {"succeeded", "failed", "cancelled", "waiting"}
PENDING = ("queued", "running")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
#: The aims of issue #10: p99 of run creation per client count, and drain scaling.
AIM_P99_MS = {16: 50.0, 64: 150.0}
AIM_SCALING = 1.5
LABELS = {
    "embedded": "embedded: bpa serve",
    "split": "split: serve + 1 worker",
    "distributed": "distributed: 2 workers",
}


@dataclass
class Level:
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    @property
    def rate(self) -> float:
        return len(self.run_ids) / self.seconds if self.seconds else 0.0


@dataclass
class Drain:
    """Runs created with no worker running, then `workers` started: seconds until settled."""

    workers: int
    created: int
    counts: dict[str, int]
    seconds: float
    first_settled: float
    cpu: dict[str, float] = field(default_factory=dict)
    machine_busy: float | None = None

    @property
    def settled(self) -> int:
        return sum(n for status, n in self.counts.items() if status in SETTLED)


@dataclass
class Outcome:
    mode: str
    database: str
    levels: list[Level] = field(default_factory=list)
    sent: int = 0
    created: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    drained: float = 0.0
    drained_from_first: float = 0.0
    load: float = 0.0
    scaling: list[Drain] = field(default_factory=list)
    skipped: str | None = None

    @property
    def settled(self) -> int:
        return sum(n for status, n in self.counts.items() if status in SETTLED)

    @property
    def lost(self) -> int:
        """Requests without a run (an error answer), and created runs that never settled."""
        return self.sent - self.settled

    def p99(self, clients: int) -> float | None:
        return next((lv.pct(0.99) for lv in self.levels if lv.clients == clients), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def database(postgres: str | None) -> Iterator[str | None]:
    """None (SQLite in the temporary home), or a fresh PostgreSQL database, dropped after."""
    if not postgres:
        yield None
        return
    from sqlalchemy import create_engine, make_url, text

    name = f"bpa_load_{secrets.token_hex(4)}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def broker(redis_url: str | None, db: int) -> Iterator[str | None]:
    """None (no broker: workers take runs from the database), or Redis database `db`,
    flushed before and after."""
    if not redis_url:
        yield None
        return
    import redis

    client = redis.Redis.from_url(redis_url, db=db, socket_timeout=5)
    client.flushdb()
    try:
        yield f"{redis_url.rstrip('/')}/{db}"
    finally:
        client.flushdb()
        client.close()


def unreachable(postgres: str, redis_url: str) -> str | None:
    """Why the distributed layout cannot run here, or None when both servers answer."""
    import redis
    from sqlalchemy import create_engine, make_url, text

    url = make_url(postgres)
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means: not reachable
        return f"PostgreSQL at {url.host}:{url.port or 5432} is not reachable ({exc!s:.120})"
    finally:
        engine.dispose()
    client = redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as exc:  # any failure to connect means: not reachable
        return f"Redis at {redis_url} is not reachable ({exc!s:.120})"
    finally:
        client.close()
    return None


@dataclass
class Stack:
    """The environment every process of one layout shares, and where their logs go."""

    home: Path
    database_url: str | None
    broker_url: str | None
    concurrency: int | None

    def bpa(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """A `bpa` command in a subprocess, with only this benchmark's BPA_* settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("BPA_")}
        env.update(BPA_HOME=str(self.home), BPA_MODEL_BACKEND="offline", BPA_EXECUTOR_POLL_S="0.2")
        if self.database_url:
            env["BPA_DATABASE_URL"] = self.database_url
            if self.database_url.startswith("postgresql"):
                env["BPA_CHECKPOINT_URL"] = self.database_url
        if self.broker_url:
            env["BPA_BROKER_URL"] = self.broker_url
        command = [sys.executable, "-c", "from bpa.cli import app; app()", *args]
        out = self.log(name).open("wb")
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)

    def log(self, name: str) -> Path:
        return self.home.parent / f"{name}.log"

    def serve(self, port: int, mode: str) -> subprocess.Popen[bytes]:
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        if mode in ("split", "distributed"):
            serve += ["--workers", "0", "--no-scheduler"]
        elif self.concurrency:
            serve += ["--workers-concurrency", str(self.concurrency)]
        return self.bpa("serve", *serve)

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        concurrency = ["--concurrency", str(self.concurrency)] if self.concurrency else []
        return self.bpa(name, "worker", *concurrency)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_ready(client: httpx.AsyncClient, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a benchmark process exited early; see its log")
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.25)
    raise SystemExit("server not ready after 180 s")


def invoice_text(template: str, tag: str) -> str:
    return template.replace("2026-0347", tag)


class RawClient:
    """One keep-alive HTTP/1.1 connection (the server answers with Content-Length)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def run_level(port: int, clients: int, requests: int, template: str, tag: str) -> Level:
    level = Level(clients)
    counter = iter(range(requests))

    async def worker() -> None:
        client = RawClient(port)
        try:
            for i in counter:
                text = invoice_text(template, f"{tag}{clients}-{i:05d}")
                body = json.dumps({"input": {"text": text}}).encode()
                started = time.perf_counter()
                status, answer = await client.post_json(f"/flows/{FLOW}/runs", body)
                level.latencies.append(time.perf_counter() - started)
                if status == 202:
                    level.run_ids.append(json.loads(answer)["id"])
                else:
                    level.errors[status] = level.errors.get(status, 0) + 1
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    level.seconds = time.perf_counter() - started
    return level


async def statuses_of(client: httpx.AsyncClient, created: set[str]) -> dict[str, int]:
    """The status of every created run (`missing`: not in the run list), counted."""
    statuses: dict[str, str] = {}
    cursor = None
    for _ in range(1000):
        params: dict[str, str | int] = {"flow": FLOW, "limit": 200}
        if cursor:
            params["before"] = cursor
        page = (await client.get("/runs", params=params)).json()
        statuses.update({run["id"]: run["status"] for run in page["data"]})
        cursor = page["next_cursor"]
        if not cursor:
            break
    counts: dict[str, int] = {}
    for run_id in created:
        status = statuses.get(run_id, "missing")
        counts[status] = counts.get(status, 0) + 1
    return counts


async def pending(client: httpx.AsyncClient, limit: int) -> int:
    """Runs queued or running (at most `limit` of each are counted)."""
    total = 0
    for status in PENDING:
        params: dict[str, str | int] = {"flow": FLOW, "status": status, "limit": limit}
        total += len((await client.get("/runs", params=params)).json()["data"])
    return total


async def settle_all(
    client: httpx.AsyncClient, created: set[str], limit_s: float
) -> tuple[dict[str, int], float]:
    """Wait until no run is queued or running (each layout has a database of its own, so
    every run in it is this benchmark's); the status of each created run, and when the last
    one settled (time.monotonic()). Polls two one-row pages, to load the API little."""
    deadline = time.monotonic() + limit_s
    report_at = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not await pending(client, limit=1):
            break
        if time.monotonic() >= report_at:
            left = await pending(client, limit=200)
            print(f"  ... {left}{'+' if left >= 200 else ''} runs not settled yet", flush=True)
            report_at = time.monotonic() + 10
        await asyncio.sleep(0.25)
    settled_at = time.monotonic()
    return await statuses_of(client, created), settled_at


async def first_settled(client: httpx.AsyncClient, first: str, limit_s: float) -> float:
    """When run `first` (the first created: the broker hands the runs out oldest first)
    settled (time.monotonic()): the drain's start-up cost."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if (await client.get(f"/runs/{first}")).json()["status"] in SETTLED:
            break
        await asyncio.sleep(0.1)
    return time.monotonic()


def process_cpu() -> dict[int, tuple[str, float]]:
    """Every process's name and user + system CPU seconds (Linux /proc; empty elsewhere)."""
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found: dict[int, tuple[str, float]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        fields = text.rpartition(")")[2].split()
        found[int(stat.parent.name)] = (name, (int(fields[11]) + int(fields[12])) / hz)
    return found


def cpu_by_group(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    ours: dict[str, list[int]],
) -> dict[str, float]:
    """CPU seconds spent between two `process_cpu()` snapshots: by our processes (by role),
    PostgreSQL and Redis (all their processes), and everything else still running."""
    role = {pid: name for name, pids in ours.items() for pid in pids}
    groups: dict[str, float] = {}
    for pid, (name, seconds) in after.items():
        spent = seconds - before.get(pid, (name, 0.0))[1]
        if pid in role:
            group = role[pid]
        elif name.startswith("postgres"):
            group = "PostgreSQL"
        elif name.startswith("redis"):
            group = "Redis"
        else:
            group = "other"
        groups[group] = groups.get(group, 0.0) + spent
    return groups


def machine_cpu() -> tuple[float, float] | None:
    """Busy and total CPU seconds of the whole machine since boot (Linux /proc), else None."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return None
    idle = ticks[3] + ticks[4]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


async def drain_with(
    stack: Stack,
    client: httpx.AsyncClient,
    port: int,
    workers: int,
    args: argparse.Namespace,
    ours: dict[str, list[int]],
) -> Drain:
    """Create the runs with no worker running, then start `workers` and time the drain."""
    template = SAMPLE.read_text(encoding="utf-8")
    total = args.requests * len(args.levels)
    level = await run_level(port, max(args.levels), total, template, f"D{workers}w")
    created = set(level.run_ids)
    machine_before, cpu_before = machine_cpu(), process_cpu()
    started = time.monotonic()
    processes = [stack.worker(f"drain-{workers}w-{i}") for i in range(1, workers + 1)]
    try:
        waiter = asyncio.create_task(settle_all(client, created, args.drain_limit))
        first = await first_settled(client, level.run_ids[0], args.drain_limit)
        counts, settled_at = await waiter
        machine_after, cpu_after = machine_cpu(), process_cpu()
    finally:
        stop(processes)
    drain = Drain(workers, len(created), counts, settled_at - started, first - started)
    roles = {**ours, "workers": [process.pid for process in processes], "client": [os.getpid()]}
    drain.cpu = cpu_by_group(cpu_before, cpu_after, roles)
    if machine_before and machine_after:
        busy = machine_after[0] - machine_before[0]
        drain.machine_busy = busy / (machine_after[1] - machine_before[1]) * (os.cpu_count() or 1)
    print(
        f"[drain] {workers} worker(s): {len(created)} runs settled in {drain.seconds:.1f} s"
        f" (first after {drain.first_settled:.1f} s)",
        flush=True,
    )
    return drain


async def measure(mode: str, args: argparse.Namespace, template: str) -> Outcome:
    postgres = args.postgres or (DEFAULT_POSTGRES if mode == "distributed" else None)
    redis_url = args.redis if mode == "distributed" else None
    where = "PostgreSQL" if postgres else "SQLite"
    if mode == "distributed":
        where = "PostgreSQL + Redis"
        reason = unreachable(postgres, args.redis)
        if reason:
            print(f"[{mode}] SKIPPED: {reason}", flush=True)
            return Outcome(mode, where, skipped=reason)
    with (
        tempfile.TemporaryDirectory(prefix="bpa-load-") as tmp,
        database(postgres) as url,
        broker(redis_url, args.redis_db) as broker_url,
    ):
        home = Path(tmp) / "home"
        home.mkdir()
        stack = Stack(home, url, broker_url, args.concurrency)
        port = free_port()
        processes = [stack.serve(port, mode)]
        workers: list[subprocess.Popen[bytes]] = []
        outcome = Outcome(mode, where)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                began = time.monotonic()
                await wait_ready(client, processes)
                # The API set the database up; now the worker processes join.
                if mode == "split":
                    workers.append(stack.worker("worker"))
                elif mode == "distributed":
                    processes.append(stack.bpa("scheduler", "scheduler"))
                    workers += [stack.worker(f"worker-{i}") for i in (1, 2)]
                print(f"[{mode}] ready on 127.0.0.1:{port} after {time.monotonic() - began:.1f} s")
                # Warm-up, not counted: the first runs load (in a new home, train) the offline
                # models; measure the steady state, not that one-off start.
                warm = await run_level(port, 4, 8, template, "W")
                await settle_all(client, set(warm.run_ids), args.drain_limit)
                outcome.load = os.getloadavg()[0]
                first_request = time.monotonic()
                for clients in args.levels:
                    level = await run_level(port, clients, args.requests, template, "L")
                    print(
                        f"[{mode}] {clients:>3} clients: {len(level.run_ids)} runs created "
                        f"in {level.seconds:.2f} s",
                        flush=True,
                    )
                    outcome.levels.append(level)
                last_request = time.monotonic()
                created = {run_id for level in outcome.levels for run_id in level.run_ids}
                outcome.counts, settled_at = await settle_all(client, created, args.drain_limit)
                outcome.created = len(created)
                outcome.drained = settled_at - last_request
                outcome.drained_from_first = settled_at - first_request
                print(
                    f"[{mode}] {outcome.settled} of {len(created)} runs settled "
                    f"{outcome.drained_from_first:.1f} s after the first request",
                    flush=True,
                )
                if mode == "distributed" and not args.no_scaling:
                    stop(workers)
                    workers = []
                    ours = {"API": [processes[0].pid], "scheduler": [processes[1].pid]}
                    for count in (1, 2):
                        drain = await drain_with(stack, client, port, count, args, ours)
                        outcome.scaling.append(drain)
        finally:
            stop(workers + processes)
    outcome.sent = sum(len(level.latencies) for level in outcome.levels)
    return outcome


def report(levels: list[Level]) -> None:
    base = levels[0]
    print()
    print(
        f"{'clients':>7} {'requests':>8} {'errors':>6} {'runs/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'runs/s x':>9} {'p99 x':>7}"
    )
    for level in levels:
        print(
            f"{level.clients:>7} {len(level.latencies):>8} {sum(level.errors.values()):>6} "
            f"{level.rate:>8.1f} {level.pct(0.5):>8.1f} {level.pct(0.99):>8.1f} "
            f"{max(level.latencies) * 1000:>8.1f} {level.rate / base.rate:>9.2f} "
            f"{level.pct(0.99) / base.pct(0.99):>7.2f}"
        )


def summarize(outcome: Outcome) -> None:
    if outcome.skipped:
        print(f"\n== {outcome.mode}: SKIPPED ({outcome.skipped})")
        return
    print(
        f"\n== {outcome.mode} ({outcome.database}): load average {outcome.load:.1f} on "
        f"{os.cpu_count()} CPUs when the measurement began"
    )
    report(outcome.levels)
    print(
        f"requests sent: {outcome.sent}; runs created (count in): {outcome.created}; "
        f"settled (count out): {outcome.settled}; by status: {dict(sorted(outcome.counts.items()))}"
    )
    print(
        f"drain: {outcome.drained_from_first:.1f} s from the first request, "
        f"{outcome.drained:.1f} s after the last"
    )
    for drain in outcome.scaling:
        print(
            f"drain of {drain.created} runs created with no worker, {drain.workers} worker "
            f"process(es) started: {drain.seconds:.1f} s (first settled after "
            f"{drain.first_settled:.1f} s); settled {drain.settled}, by status "
            f"{dict(sorted(drain.counts.items()))}"
        )
        if drain.machine_busy is not None:
            spent = ", ".join(
                f"{group} {seconds / drain.seconds:.2f}"
                for group, seconds in sorted(drain.cpu.items(), key=lambda kv: -kv[1])
            )
            print(
                f"  CPUs busy on average: {drain.machine_busy:.2f} of {os.cpu_count()}; "
                f"by whom: {spent}"
            )


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def side_by_side(outcomes: list[Outcome], levels: list[int]) -> None:
    """One row per measure, one column per layout, the aim and whether it is met."""
    width = 26
    rows: list[tuple[str, str, list[str]]] = []
    for clients in levels:
        aim = AIM_P99_MS.get(clients)
        p50: list[str] = []
        p99: list[str] = []
        for o in outcomes:
            level = next((lv for lv in o.levels if lv.clients == clients), None)
            if level is None:
                p50.append("skipped" if o.skipped else "-")
                p99.append("skipped" if o.skipped else "-")
                continue
            p50.append(f"{level.pct(0.5):.1f}")
            value = level.pct(0.99)
            p99.append(f"{value:.1f}" + (f"  {verdict(value < aim)}" if aim else ""))
        rows.append((f"create p50 @{clients} clients (ms)", "", p50))
        rows.append((f"create p99 @{clients} clients (ms)", f"< {aim:.0f}" if aim else "", p99))
    rows.append(
        (
            "runs created / settled",
            "",
            ["skipped" if o.skipped else f"{o.created} / {o.settled}" for o in outcomes],
        )
    )
    rows.append(
        (
            "lost runs",
            "0",
            ["skipped" if o.skipped else f"{o.lost}  {verdict(o.lost == 0)}" for o in outcomes],
        )
    )
    rows.append(
        (
            "drain from 1st request (s)",
            "",
            ["skipped" if o.skipped else f"{o.drained_from_first:.1f}" for o in outcomes],
        )
    )
    scaled = [o for o in outcomes if o.scaling]
    if scaled or any(o.mode == "distributed" for o in outcomes):
        for workers in (1, 2):
            cells = []
            for o in outcomes:
                drain = next((d for d in o.scaling if d.workers == workers), None)
                cells.append(f"{drain.seconds:.1f}" if drain else "-")
            rows.append((f"drain, {workers} worker(s) (s)", "", cells))
        cells = []
        for o in outcomes:
            if len(o.scaling) == 2:
                ratio = o.scaling[0].seconds / o.scaling[1].seconds
                cells.append(f"{ratio:.2f}x  {verdict(ratio >= AIM_SCALING)}")
            else:
                cells.append("-")
        rows.append(("drain 2 vs 1 workers", f">= {AIM_SCALING}x", cells))
        cells = []
        for o in outcomes:
            if len(o.scaling) == 2:
                one, two = (d.seconds - d.first_settled for d in o.scaling)
                cells.append(f"{one / two:.2f}x")
            else:
                cells.append("-")
        rows.append(("  same, after the first settled", "", cells))

    header = [f"{LABELS.get(o.mode, o.mode)}" for o in outcomes]
    under = [o.database for o in outcomes]
    print(f"\n== side by side ({os.cpu_count()} CPUs, offline model)")
    print(f"{'':<32} {'aim':<9} " + " ".join(f"{h:<{width}}" for h in header))
    print(f"{'':<32} {'':<9} " + " ".join(f"{u:<{width}}" for u in under))
    for name, aim, cells in rows:
        print(f"{name:<32} {aim:<9} " + " ".join(f"{c:<{width}}" for c in cells))


async def main(args: argparse.Namespace) -> int:
    template = SAMPLE.read_text(encoding="utf-8")
    mode = "embedded" if args.mode == "serve" else args.mode
    modes = ["embedded", "distributed"] if mode == "both" else [mode]
    outcomes = [await measure(mode, args, template) for mode in modes]
    for outcome in outcomes:
        summarize(outcome)
    side_by_side(outcomes, args.levels)
    whole = all(o.lost == 0 for o in outcomes if not o.skipped)
    whole = whole and all(d.settled == d.created for o in outcomes for d in o.scaling)
    return 0 if whole else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=300,
        help="Requests per level (default 300: 600 runs over the two default levels; the "
        "drain-scaling runs are as many)",
    )
    parser.add_argument(
        "--levels",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[16, 64],
        help="Concurrent clients per level, e.g. 1,16,64",
    )
    parser.add_argument(
        "--mode",
        choices=["both", "embedded", "serve", "distributed", "split"],
        default="both",
        help="both (default): embedded and distributed side by side; embedded (or serve): "
        "`bpa serve` with the workers it starts; distributed: PostgreSQL + Redis, `bpa serve "
        "--workers 0 --no-scheduler`, two `bpa worker` and a `bpa scheduler`; split: `bpa "
        "serve --workers 0 --no-scheduler` plus one `bpa worker` without a broker",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="PostgreSQL server URL (a temporary database is created there and dropped after). "
        f"The distributed layout uses {DEFAULT_POSTGRES} unless given; the others use it "
        "only when given, else SQLite",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        default=DEFAULT_REDIS,
        help="Redis server of the distributed layout (default: %(default)s)",
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        default=15,
        help="Redis database index the benchmark owns: flushed before and after "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--no-scaling",
        action="store_true",
        help="Skip the distributed drain with one worker process against two",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="Runs each worker process executes at once (default: its setting)",
    )
    parser.add_argument(
        "--drain-limit", type=float, default=900, help="Seconds to wait for every run to settle"
    )
    raise SystemExit(asyncio.run(main(parser.parse_args())))
