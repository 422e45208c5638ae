"""Load on the HTTP API: run creations per second and latency at 1, 16 and 64 clients.

One command::

    /work/venv/bin/python benchmarks/api_load.py [--requests 200] [--levels 1,16,64]
                                                 [--mode both|serve|split]

Starts `bpa serve` on a free loopback port in a subprocess (temporary BPA_HOME, offline
model), sends `POST /flows/invoice_processing/runs` with text invoices from a bounded number
of concurrent clients per level, then waits until every created run has settled and checks
that count in = count out (no run lost). Prints a table, with ratios against 1 client.

Two deployments are measured: `serve` (the default `bpa serve`: the API process, with the
worker processes it starts executing the runs) and `split` (`bpa serve --workers 0
--no-scheduler` plus one `bpa worker` process started on its own). The clients speak
HTTP/1.1 over raw asyncio streams with keep-alive: a general-purpose client costs more CPU
per request than the server under test, on the same machine, and would be what the
latencies measure.
Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
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


def _bpa(home: Path, log: Path, database_url: str | None, *args: str) -> subprocess.Popen[bytes]:
    """A `bpa` command in a subprocess, with only this benchmark's BPA_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPA_")}
    env.update(BPA_HOME=str(home), BPA_MODEL_BACKEND="offline", BPA_EXECUTOR_POLL_S="0.2")
    if database_url:
        env["BPA_DATABASE_URL"] = database_url
    command = [sys.executable, "-c", "from bpa.cli import app; app()", *args]
    out = log.open("wb")
    return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)


def start(
    home: Path, port: int, mode: str, concurrency: int | None, database_url: str | None
) -> list[subprocess.Popen[bytes]]:
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if mode == "split":
        serve += ["--workers", "0", "--no-scheduler"]
    elif concurrency:
        serve += ["--workers-concurrency", str(concurrency)]
    return [_bpa(home, home.parent / "serve.log", database_url, *serve)]


def start_worker(
    home: Path, concurrency: int | None, database_url: str | None
) -> subprocess.Popen[bytes]:
    args = ["worker", *(["--concurrency", str(concurrency)] if concurrency else [])]
    return _bpa(home, home.parent / "worker.log", database_url, *args)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


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


async def run_level(port: int, clients: int, requests: int, template: str) -> Level:
    level = Level(clients)
    counter = iter(range(requests))

    async def worker() -> None:
        client = RawClient(port)
        try:
            for i in counter:
                text = invoice_text(template, f"L{clients}-{i:05d}")
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


async def settle_all(
    client: httpx.AsyncClient, created: set[str], limit_s: float
) -> dict[str, int]:
    """Poll the run list until every created run has settled; the status of each."""
    deadline = time.monotonic() + limit_s
    while True:
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
        ours = {run_id: statuses.get(run_id, "missing") for run_id in created}
        pending = [s for s in ours.values() if s not in SETTLED]
        if not pending or time.monotonic() > deadline:
            counts: dict[str, int] = {}
            for status in ours.values():
                counts[status] = counts.get(status, 0) + 1
            return counts
        print(f"  ... {len(pending)} of {len(created)} runs not settled yet", flush=True)
        await asyncio.sleep(2)


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


@dataclass
class Outcome:
    mode: str
    levels: list[Level]
    sent: int
    created: int
    counts: dict[str, int]
    drained: float
    load: float
    database: str

    @property
    def settled(self) -> int:
        return sum(n for status, n in self.counts.items() if status in SETTLED)


async def measure(mode: str, args: argparse.Namespace, template: str) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="bpa-load-") as tmp, database(args.postgres) as url:
        home = Path(tmp) / "home"
        home.mkdir()
        port = free_port()
        processes = start(home, port, mode, args.concurrency, url)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                began = time.monotonic()
                await wait_ready(client, processes)
                if mode == "split":  # the API set the database up; now the worker joins
                    processes.append(start_worker(home, args.concurrency, url))
                print(f"[{mode}] ready on 127.0.0.1:{port} after {time.monotonic() - began:.1f} s")
                # Warm-up, not counted: the first runs load (in a new home, train) the offline
                # models; measure the steady state, not that one-off start.
                warm = await run_level(port, 4, 8, template)
                await settle_all(client, set(warm.run_ids), args.drain_limit)
                load = os.getloadavg()[0]
                levels = []
                for clients in args.levels:
                    level = await run_level(port, clients, args.requests, template)
                    print(
                        f"[{mode}] {clients:>3} clients: {len(level.run_ids)} runs created "
                        f"in {level.seconds:.2f} s",
                        flush=True,
                    )
                    levels.append(level)
                created = {run_id for level in levels for run_id in level.run_ids}
                drain_started = time.monotonic()
                counts = await settle_all(client, created, args.drain_limit)
                drained = time.monotonic() - drain_started
        finally:
            stop(processes)
    sent = sum(len(level.latencies) for level in levels)
    where = "PostgreSQL" if args.postgres else "SQLite"
    return Outcome(mode, levels, sent, len(created), counts, drained, load, where)


def summarize(outcome: Outcome) -> bool:
    print(
        f"\n== {outcome.mode}: load average {outcome.load:.1f} on {os.cpu_count()} CPUs "
        "when the measurement began"
    )
    report(outcome.levels)
    print(
        f"requests sent: {outcome.sent}; runs created (count in): {outcome.created}; "
        f"settled (count out): {outcome.settled}; by status: {dict(sorted(outcome.counts.items()))}"
    )
    print(f"drain after the last request: {outcome.drained:.1f} s")
    p99_16 = next((lv.pct(0.99) for lv in outcome.levels if lv.clients == 16), None)
    if p99_16 is not None:
        print(
            f"aim p99 < 50 ms at 16 clients: {'met' if p99_16 < 50 else 'NOT met'} "
            f"({p99_16:.1f} ms)"
        )
    lost = outcome.created - outcome.settled
    whole = lost == 0 and outcome.sent == outcome.created
    print("zero lost runs" if whole else f"LOST: {lost} runs")
    return whole


async def main(args: argparse.Namespace) -> int:
    template = SAMPLE.read_text(encoding="utf-8")
    modes = ["serve", "split"] if args.mode == "both" else [args.mode]
    outcomes = [await measure(mode, args, template) for mode in modes]
    results = [summarize(outcome) for outcome in outcomes]
    return 0 if all(results) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="Requests per level")
    parser.add_argument(
        "--levels",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 16, 64],
        help="Concurrent clients per level, e.g. 1,16,64",
    )
    parser.add_argument(
        "--mode",
        choices=["both", "serve", "split"],
        default="both",
        help="serve: `bpa serve` with the workers it starts; split: `bpa serve --workers 0 "
        "--no-scheduler` plus a `bpa worker` process",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="Run against PostgreSQL: a server URL such as "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres (a temporary database is "
        "created there and dropped after)",
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
