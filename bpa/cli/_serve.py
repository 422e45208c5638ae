"""`bpa serve`: the HTTP API with its executor and scheduler, under uvicorn.

Without any API key the server is open, so it binds only to loopback and says so; with
keys every request needs one. The app is named by its import string (`api:create_served_app`), so
the engine does not import the API package.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from bpa.auth import is_loopback
from bpa.cli._common import err
from bpa.cli._keys import key_store
from bpa.config import Settings

__all__ = ["check_bind", "serve"]

APP_FACTORY = "api:create_served_app"


def check_bind(host: str, has_keys: bool) -> str | None:
    """Why serving on `host` is refused (None: it is allowed)."""
    if has_keys or is_loopback(host):
        return None
    return (
        f"refusing to serve on {host}: no API key is configured, so the API would be open to "
        "anyone who can reach it. Create one (`bpa keys create --role admin`), or serve on "
        "127.0.0.1."
    )


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; other than loopback needs API keys")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    workers_concurrency: Annotated[
        int | None,
        typer.Option(
            "--workers-concurrency",
            min=1,
            max=256,
            help="Runs executed at once (default: BPA_EXECUTOR_CONCURRENCY)",
        ),
    ] = None,
    api_only: Annotated[
        bool,
        typer.Option(
            "--api-only",
            help="Only serve the API; separate `bpa scheduler` processes execute the queued "
            "runs and fire schedules (keeps flow computation off the API's CPU)",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the HTTP API (docs at /docs), running queued runs and schedules meanwhile."""
    import uvicorn

    from connectors.sqlite import checkpoint_in_background

    # The app factory reads its Settings from the environment, like every bpa command.
    if workers_concurrency is not None:
        os.environ["BPA_EXECUTOR_CONCURRENCY"] = str(workers_concurrency)
    if api_only:
        os.environ["BPA_API_BACKGROUND_WORK"] = "false"
    has_keys = key_store(Settings()).any_active()
    refusal = check_bind(host, has_keys)
    if refusal:
        err.print(f"[red]error:[/red] {refusal}")
        raise typer.Exit(2)
    if not has_keys:
        err.print(
            f"[yellow]No API keys configured: the API is OPEN, on loopback only "
            f"(http://{host}:{port}).[/yellow] Create keys with `bpa keys create --role ...`."
        )
    # SQLite WAL checkpoints on a thread of their own, not in the commit of a request.
    checkpoint_in_background()
    # h11 reads the request head with a size cap (httptools has none): a client cannot make
    # the server buffer megabytes of headers.
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        http="h11",
        h11_max_incomplete_event_size=Settings().api_max_header_bytes,
    )
