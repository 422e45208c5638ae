"""The production layout, not mocked: runs recorded in PostgreSQL, published to a real Celery
broker (Redis, or RabbitMQ), executed by two `bpa worker` processes (issue #10).

Skipped with the reason where PostgreSQL or the broker is absent; `.ci/run` runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bpa.config import Settings
from bpa.dispatch import make_dispatcher
from bpa.runs.tables import RunStatus
from bpa.suite import Suite
from bpa.sweeper import Sweeper

pytestmark = [pytest.mark.distributed, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
INVOICE = (REPO / "fixtures" / "invoices" / "txt_01_nordisk_en.txt").read_text(encoding="utf-8")
HERE = Path(__file__).resolve().parent
RABBIT = os.environ.get("BPA_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url() -> Iterator[str]:
    if not _reachable("127.0.0.1", 6379):
        pytest.skip("no Redis on 127.0.0.1:6379 (the Celery broker these tests use)")
    import redis

    db = 7 + uuid.uuid4().int % 8
    client = redis.Redis(host="127.0.0.1", port=6379, db=db)
    client.flushdb()
    yield f"redis://127.0.0.1:6379/{db}"
    client.flushdb()


@pytest.fixture
def rabbit_url() -> Iterator[str]:
    if not _reachable("127.0.0.1", 5672):
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    from kombu import Connection

    with Connection(RABBIT) as conn:
        channel = conn.channel()
        with contextlib.suppress(*conn.channel_errors):
            channel.queue_purge("bpa.runs")
    yield RABBIT


class Cluster:
    """Two (or more) `bpa worker` processes on one database and broker, started by the test."""

    def __init__(self, settings: Settings, tmp: Path, *, patch: str | None = None) -> None:
        self.settings = settings
        self.tmp = tmp
        self.patch = patch
        self.workers: list[subprocess.Popen[bytes]] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BPA_")}
        self.env.update(
            BPA_HOME=str(settings.home),
            BPA_DATABASE_URL=str(settings.database_url),
            BPA_CHECKPOINT_URL=str(settings.checkpoint_url),
            BPA_BROKER_URL=str(settings.broker_url),
            BPA_RUN_LEASE_S=str(settings.run_lease_s),
            BPA_RETRY_BACKOFF_S=str(settings.retry_backoff_s),
            PYTHONPATH=str(HERE),
        )

    def start_worker(self, concurrency: int = 8) -> subprocess.Popen[bytes]:
        prelude = f"import {self.patch}; " if self.patch else ""
        n = len(self.workers)
        log = (self.tmp / f"worker-{n}.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"{prelude}from bpa.cli import app; app()",
                "worker",
                "--concurrency",
                str(concurrency),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.tmp,
        )
        self.workers.append(proc)
        return proc

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [w for w in self.workers if w.poll() is None]

    def stop(self) -> None:
        for proc in self.alive():
            proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _settings(tmp: Path, pg_url: str, broker: str, **extra: object) -> Settings:
    return Settings(
        home=tmp / "home",
        database_url=pg_url,
        checkpoint_url=pg_url,
        broker_url=broker,
        run_lease_s=3,
        retry_backoff_s=0.5,
        **extra,  # type: ignore[arg-type]
    )


def _inputs(n: int, poison: int | None = None) -> list[dict[str, str]]:
    inputs = []
    for i in range(n):
        body = INVOICE.replace("2026-0347", f"DIST-{i:04d}")
        if i == poison:
            body += "\nPOISON"
        inputs.append({"text": body})
    return inputs


async def _drive(
    suite: Suite,
    cluster: Cluster,
    inputs: list[dict[str, str]],
    *,
    during: object = None,
    timeout: float = 240,
    keep_two_alive: bool = False,
) -> list[str]:
    """Submit and publish the runs, sweep like `bpa scheduler` does, wait until all settle."""
    dispatcher = make_dispatcher(suite.settings)
    sweeper = Sweeper(suite.store, dispatcher, backoff_s=0.5, stale_after_s=2)
    ids = [suite.runner.submit("invoice_processing", i, trigger="api")[0].id for i in inputs]
    dispatcher.dispatch(ids)
    deadline = time.monotonic() + timeout
    step = 0
    try:
        while True:
            statuses = Counter(suite.store.get(i).status for i in ids)
            if statuses[RunStatus.queued] + statuses[RunStatus.running] == 0:
                return ids
            assert time.monotonic() < deadline, (statuses, _logs(cluster))
            if callable(during):
                await during(step, statuses)  # type: ignore[misc]
            if keep_two_alive:
                while len(cluster.alive()) < 2:
                    cluster.start_worker(concurrency=2)
            sweeper.sweep()
            step += 1
            await asyncio.sleep(0.5)
    finally:
        dispatcher.close()


def _logs(cluster: Cluster) -> str:
    return "\n".join(p.read_text()[-2000:] for p in sorted(cluster.tmp.glob("worker-*.log")))


def _assert_exactly_once(suite: Suite, ids: list[str], *, skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    with suite.engine.connect() as conn:
        bills = conn.execute(
            text(
                "SELECT invoice_number, count(*) FROM acct_bills "
                "WHERE invoice_number LIKE 'DIST-%' GROUP BY invoice_number"
            )
        ).all()
        kinds = conn.execute(
            text(
                "SELECT run_id, kind, payload FROM bpa_run_events WHERE run_id = ANY(:ids) "
                "AND kind IN ('run_finished', 'connector_call')"
            ),
            {"ids": ids},
        ).all()
    assert all(n == 1 for _, n in bills), [b for b in bills if b[1] != 1]
    assert len(bills) == len(ids) - len(skip)
    finished = Counter(run_id for run_id, kind, _ in kinds if kind == "run_finished")
    assert all(finished[i] == 1 for i in ids), [i for i in ids if finished[i] != 1]
    effects = Counter(
        (run_id, payload["action"])
        for run_id, kind, payload in kinds
        if kind == "connector_call" and payload.get("action") in ("create_bill", "post_bill")
    )
    for run_id in set(ids) - skip:
        assert effects[(run_id, "create_bill")] == 1 and effects[(run_id, "post_bill")] == 1


async def _exactly_once_on_two_workers(tmp_path: Path, pg_url: str, broker: str) -> None:
    settings = _settings(tmp_path, pg_url, broker)
    cluster = Cluster(settings, tmp_path)
    async with Suite.open(settings) as suite:
        try:
            cluster.start_worker()
            cluster.start_worker()
            ids = await _drive(suite, cluster, _inputs(200))
        finally:
            cluster.stop()
        statuses = Counter(suite.store.get(i).status for i in ids)
        assert statuses == {RunStatus.succeeded: 200}, statuses
        _assert_exactly_once(suite, ids)


async def test_200_runs_execute_exactly_once_on_two_workers(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    await _exactly_once_on_two_workers(tmp_path, pg_url, redis_url)


async def test_kill_9_of_a_worker_mid_batch_loses_and_repeats_nothing(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    settings = _settings(tmp_path, pg_url, redis_url)
    cluster = Cluster(settings, tmp_path)
    killed: list[int] = []

    async def kill_one(step: int, statuses: Counter[str]) -> None:
        if not killed and statuses[RunStatus.succeeded] >= 30:
            victim = cluster.workers[0]
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            killed.append(victim.pid)

    async with Suite.open(settings) as suite:
        try:
            cluster.start_worker()
            cluster.start_worker()
            ids = await _drive(suite, cluster, _inputs(200), during=kill_one)
        finally:
            cluster.stop()
        assert killed, "the batch finished before a worker could be killed"
        statuses = Counter(suite.store.get(i).status for i in ids)
        assert statuses == {RunStatus.succeeded: 200}, statuses
        _assert_exactly_once(suite, ids)


async def test_a_run_that_kills_its_worker_fails_after_three_attempts(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    settings = _settings(tmp_path, pg_url, redis_url)
    cluster = Cluster(settings, tmp_path, patch="poison_worker")
    async with Suite.open(settings) as suite:
        try:
            cluster.start_worker(concurrency=2)
            cluster.start_worker(concurrency=2)
            ids = await _drive(suite, cluster, _inputs(40, poison=20), keep_two_alive=True)
        finally:
            cluster.stop()
        poison = suite.store.get(ids[20])
        assert poison.status == RunStatus.failed
        assert poison.error is not None and poison.error["code"] == "crashed_repeatedly"
        starts = [
            e for e in suite.store.events(poison.id) if e.kind in ("run_started", "run_recovered")
        ]
        assert len(starts) == settings.max_attempts == 3
        others = [suite.store.get(i).status for i in ids if i != poison.id]
        assert others == [RunStatus.succeeded] * 39
        _assert_exactly_once(suite, ids, skip={poison.id})


async def test_a_broker_restart_mid_batch_loses_no_run(tmp_path: Path, pg_url: str) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on this machine (the test restarts a broker of its own)")
    port = _free_port()
    argv = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    broker = subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=tmp_path)
    settings = _settings(tmp_path, pg_url, f"redis://127.0.0.1:{port}/0")
    cluster = Cluster(settings, tmp_path)
    restarted: list[bool] = []

    async def restart(step: int, statuses: Counter[str]) -> None:
        nonlocal broker
        if not restarted and statuses[RunStatus.succeeded] >= 20:
            broker.kill()
            broker.wait()
            await asyncio.sleep(1.0)
            broker = subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=tmp_path)
            restarted.append(True)

    try:
        while not _reachable("127.0.0.1", port):
            await asyncio.sleep(0.05)
        async with Suite.open(settings) as suite:
            try:
                cluster.start_worker(concurrency=4)
                cluster.start_worker(concurrency=4)
                ids = await _drive(suite, cluster, _inputs(200), during=restart)
            finally:
                cluster.stop()
            assert restarted, "the batch finished before the broker restarted"
            statuses = Counter(suite.store.get(i).status for i in ids)
            assert statuses == {RunStatus.succeeded: 200}, statuses
            _assert_exactly_once(suite, ids)
    finally:
        broker.kill()
        broker.wait()


async def test_exactly_once_with_rabbitmq_as_the_broker(
    tmp_path: Path, pg_url: str, rabbit_url: str
) -> None:
    await _exactly_once_on_two_workers(tmp_path, pg_url, rabbit_url)
