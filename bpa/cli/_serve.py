"""`bpa serve`: the HTTP API under uvicorn, with local worker processes and a scheduler.

The API process only records and reads runs. Flows execute in `bpa worker` processes
started here (they take queued runs from the database, or from Celery with
`BPA_BROKER_URL`), and one `bpa scheduler` process fires the schedules; all of them stop
with the server. `--workers 0 --no-scheduler` serves the API alone, for deployments that
run workers and the scheduler elsewhere.

Without any API key the server is open, so it binds only to loopback and says so; with
keys every request needs one. The app is named by its import string (`api:create_app`), so
the engine does not import the API package.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from bpa.auth import is_loopback
from bpa.cli._common import err
from bpa.cli._keys import key_store
from bpa.cli._worker import spawn_workers, stop_workers
from bpa.config import Settings
from bpa.worker.supervision import child_environment

if TYPE_CHECKING:
    import uvicorn

__all__ = ["check_bind", "serve"]

APP_FACTORY = "api:create_app"
_SCHEDULER_ARGV = [sys.executable, "-c", "from bpa.cli import app; app()", "scheduler"]
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def check_bind(host: str, has_keys: bool) -> str | None:
    """Why serving on `host` is refused (None: it is allowed)."""
    if has_keys or is_loopback(host):
        return None
    return (
        f"refusing to serve on {host}: no API key is configured, so the API would be open to "
        "anyone who can reach it. Create one (`bpa keys create --role admin`), or serve on "
        "127.0.0.1."
    )


def _api_server(host: str, port: int, log_level: str, settings: Settings) -> uvicorn.Server:
    import uvicorn

    # h11 reads the request head with a size cap (httptools has none): a client cannot make
    # the server buffer megabytes of headers.
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        http="h11",
        h11_max_incomplete_event_size=settings.api_max_header_bytes,
    )
    return uvicorn.Server(config)


@contextmanager
def _stop_signals_noted(server: uvicorn.Server) -> Iterator[list[int]]:
    """While the block runs, Ctrl-C and SIGTERM stop `server` and are noted in the list.

    uvicorn shuts down gracefully on them, then raises the signal again to end the process,
    which would leave the worker processes behind: the caller ends by it once they stopped.
    """
    caught: list[int] = []

    def note(signum: int, _frame: object) -> None:
        caught.append(signum)
        server.should_exit = True

    previous = {sig: signal.signal(sig, note) for sig in _STOP_SIGNALS}
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; other than loopback needs API keys")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=0,
            max=256,
            help="Worker processes to start, which execute the runs (default: one per CPU). "
            "0: none here; `bpa worker` processes elsewhere execute them.",
        ),
    ] = None,
    workers_concurrency: Annotated[
        int | None,
        typer.Option(
            "--workers-concurrency",
            min=1,
            max=256,
            help="Runs each worker process executes at once (default: BPA_EXECUTOR_CONCURRENCY)",
        ),
    ] = None,
    no_scheduler: Annotated[
        bool,
        typer.Option(
            "--no-scheduler",
            help="Do not start a `bpa scheduler` process (schedules then fire only where "
            "one runs). `--workers 0 --no-scheduler` serves the API alone (what `--api-only` "
            "used to do).",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the HTTP API (docs at /docs), with worker processes executing the runs and a
    scheduler firing schedules; Ctrl-C stops them all.

    Workers take queued runs from the database, or from BPA_BROKER_URL's queue (Celery)
    when it is set.
    """
    settings = Settings()
    has_keys = key_store(settings).any_active()
    refusal = check_bind(host, has_keys)
    if refusal:
        err.print(f"[red]error:[/red] {refusal}")
        raise typer.Exit(2)
    if not has_keys:
        err.print(
            f"[yellow]No API keys configured: the API is OPEN, on loopback only "
            f"(http://{host}:{port}).[/yellow] Create keys with `bpa keys create --role ...`."
        )
    count = (os.cpu_count() or 1) if workers is None else workers
    server = _api_server(host, port, log_level, settings)
    with _stop_signals_noted(server) as caught:
        children: list[subprocess.Popen[bytes]] = []
        try:
            children += spawn_workers(count, workers_concurrency)
            if not no_scheduler:
                children.append(subprocess.Popen(_SCHEDULER_ARGV, env=child_environment()))
            source = "BPA_BROKER_URL's queue" if settings.broker_url else "the database"
            scheduler = "off" if no_scheduler else "on"
            err.print(f"workers: {count}, taking runs from {source}; scheduler: {scheduler}")
            server.run()
        finally:
            stop_workers(children)
    for sig in dict.fromkeys(reversed(caught)):  # as uvicorn would: end by the stop signal
        signal.raise_signal(sig)
    if not server.started:
        raise typer.Exit(3)  # uvicorn logged why (address in use, the app failed to start)
