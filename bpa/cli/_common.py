"""Shared CLI plumbing: running a coroutine with an open suite, printing, exiting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from bpa.config import Settings
from bpa.errors import (
    ConfigError,
    IdempotencyConflict,
    InvalidDecision,
    InvalidInput,
    RunNotFound,
    RunStateError,
)
from bpa.runs.runner import UnknownFlow
from bpa.runs.tables import Run
from bpa.suite import Suite

__all__ = ["console", "err", "print_json", "run_table", "with_suite"]

T = TypeVar("T")
console = Console()
err = Console(stderr=True)

_USER_ERRORS = (
    ConfigError,
    IdempotencyConflict,
    InvalidDecision,
    InvalidInput,
    RunNotFound,
    RunStateError,
    UnknownFlow,
    FileNotFoundError,
)


def with_suite(work: Callable[[Suite], Awaitable[T]], settings: Settings | None = None) -> T:
    """Open the suite, run `work`, close it; user errors become a message and exit code 2."""

    async def main() -> T:
        async with Suite.open(settings) as suite:
            return await work(suite)

    try:
        return asyncio.run(main())
    except _USER_ERRORS as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def run_json(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "flow": run.flow,
        "status": str(run.status),
        "output": run.output,
        "error": run.error,
    }


def _reason(run: Run) -> str:
    if run.error:
        return f"{run.error.get('code')}: {run.error.get('message', '')}"
    output = run.output or {}
    issues = output.get("issues") or []
    if issues:
        return ", ".join(sorted({i["code"] for i in issues}))
    return str(output.get("decision") or "")


def run_table(runs: list[Run], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("run", "flow", "status", "trigger", "created", "reason / decision"):
        table.add_column(column, overflow="fold")
    colours = {"succeeded": "green", "failed": "red", "waiting": "yellow", "cancelled": "dim"}
    for run in runs:
        status = str(run.status)
        table.add_row(
            run.id,
            run.flow,
            f"[{colours.get(status, 'white')}]{status}[/]",
            run.trigger,
            run.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            _reason(run),
        )
    return table
