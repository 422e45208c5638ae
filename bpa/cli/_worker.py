"""`bpa worker`: processes that execute runs, each driving many runs on one asyncio loop.

Without `BPA_BROKER_URL` a worker takes queued runs from the database; with it, it is a
Celery worker consuming one message per run (acks late). `--processes N` starts N worker
processes and stops them together.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from typing import Annotated

import typer

from bpa.cli._common import err
from bpa.config import Settings

__all__ = ["spawn_workers", "stop_workers", "worker"]

_WORKER_ARGV = [sys.executable, "-c", "from bpa.cli import app; app()", "worker"]


def spawn_workers(count: int, concurrency: int | None) -> list[subprocess.Popen[bytes]]:
    """Start `count` single-process workers with this process's environment; each stops
    (gracefully) when this process dies, however it dies."""
    argv = [*_WORKER_ARGV, "--processes", "1"]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    from bpa.worker.supervision import child_environment

    return [subprocess.Popen(argv, env=child_environment()) for _ in range(count)]


def stop_workers(children: list[subprocess.Popen[bytes]], *, timeout: float = 60.0) -> None:
    """SIGTERM (graceful: in-flight runs finish or stop at a checkpoint), then SIGKILL."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _supervise(children: list[subprocess.Popen[bytes]]) -> int:
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return 0 if stopping else max((abs(c) for c in codes), default=0)


def _poll_database(settings: Settings, concurrency: int) -> None:
    from bpa.worker.runtime import poll_database, stop_on_signals

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await poll_database(
            settings,
            concurrency=concurrency,
            stop=stop,
            ready=lambda suite: err.print(
                f"worker {suite.runner.owner}: taking runs from the database "
                f"({concurrency} at a time); Ctrl-C stops it"
            ),
        )

    asyncio.run(main())


def _celery(settings: Settings, concurrency: int, loglevel: str) -> None:
    from bpa.worker.celery_app import QUEUE, attach_runtime, make_celery
    from bpa.worker.runtime import WorkerRuntime

    app = make_celery(settings)
    attach_runtime(app, WorkerRuntime(settings, concurrency=concurrency))
    app.worker_main(
        [
            "worker",
            "--pool=threads",
            f"--concurrency={concurrency}",
            f"--queues={QUEUE}",
            f"--loglevel={loglevel}",
            f"--hostname=bpa-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def worker(
    processes: Annotated[
        int, typer.Option("--processes", "-p", min=1, max=64, help="Worker processes to start")
    ] = 1,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            max=1024,
            help="Runs one process drives at once (default: BPA_EXECUTOR_CONCURRENCY)",
        ),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level (with a broker)")] = "WARNING",
) -> None:
    """Execute runs until Ctrl-C: from BPA_BROKER_URL's queue (Celery), else from the database.

    Any number of workers, on any number of machines, may share one database: each run is
    executed by the one worker holding its lease. Ctrl-C lets running runs finish (or stop
    at a checkpoint, to be resumed by another worker).
    """
    from bpa.worker.supervision import end_with_supervisor

    end_with_supervisor()  # started by `bpa serve` or `--processes N`: it ends with its parent
    settings = Settings()
    if processes > 1:
        raise typer.Exit(_supervise(spawn_workers(processes, concurrency)))
    each = concurrency or settings.executor_concurrency
    if settings.broker_url:
        _celery(settings, each, loglevel)
    else:
        _poll_database(settings, each)
