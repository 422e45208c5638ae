"""Shared CLI plumbing: running a coroutine with an open suite, printing, exiting.

Importing the CLI must stay cheap (`bpa --help`, `bpa runs list`): the engine's heavy parts
(LangGraph, flows, models, connectors) load inside the commands that use them
(tests/bpa/test_cli_imports.py guards it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bpa.errors import (
    ConfigError,
    IdempotencyConflict,
    InvalidDecision,
    InvalidInput,
    RunNotFound,
    RunStateError,
)
from bpa.explain import describe
from bpa.flows import UnknownFlow

if TYPE_CHECKING:
    from bpa.config import Settings
    from bpa.runs.tables import Run
    from bpa.suite import Records, Suite

__all__ = [
    "console",
    "err",
    "fail",
    "listed",
    "print_json",
    "run_table",
    "with_records",
    "with_suite",
]

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


@contextmanager
def _user_errors() -> Iterator[None]:
    """A user error becomes a message and exit code 2 (no traceback)."""
    try:
        yield
    except _USER_ERRORS as exc:
        fail(str(exc))
    except ValidationError as exc:  # a value a command passed on unchecked: still one line
        fail(describe(exc))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line saying what is wrong and what to do, and exit (2: a usage error)."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def with_suite(work: Callable[[Suite], Awaitable[T]], settings: Settings | None = None) -> T:
    """Open the suite, run `work`, close it; user errors become a message and exit code 2.
    Flows are imported when `work` first uses one."""

    from bpa.suite import Suite

    async def main() -> T:
        async with Suite.open(settings, preload_flows=False) as suite:
            return await work(suite)

    with _user_errors():
        return asyncio.run(main())


def with_records(work: Callable[[Records], T], settings: Settings | None = None) -> T:
    """`with_suite` for commands that only read runs and schedules: opens the database alone
    (no flows, models, connectors or checkpoints), so they answer in a fraction of a second."""
    from bpa.suite import Records

    with _user_errors(), Records.open(settings) as records:
        return work(records)


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


#: Longest reason a table shows; `bpa runs show RUN` has the whole of it.
_REASON_CHARS = 80


def _short(text: str, limit: int = _REASON_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _reason(run: Run) -> str:
    """Why the run ended where it did, in a few words: an error code, issue codes, or the
    decision's outcome and reason (never a whole decision record, nor a long message)."""
    if run.error:  # its message is in `bpa runs show RUN`
        return _short(str(run.error.get("code") or "error"))
    output = run.output or {}
    issues = output.get("issues") or []
    if issues:
        return _short(", ".join(sorted({str(i.get("code")) for i in issues})))
    decision = output.get("decision")
    if isinstance(decision, dict):
        parts = [decision.get(k) for k in ("outcome", "action", "reason") if decision.get(k)]
        return _short(": ".join(str(p) for p in parts[:2]))
    return _short(str(decision or ""))


def listed(shown: int, total: int, what: str) -> str:
    """A listing's title: "30 of 43 runs" when the limit cut it short."""
    return f"{shown} of {total} {what}" if total > shown else f"{shown} {what}"


def run_table(runs: list[Run], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    # An id is copied whole, so it is never wrapped or cut: other columns give way.
    table.add_column("run", no_wrap=True, min_width=max((len(r.id) for r in runs), default=3))
    for column in ("flow", "status", "trigger", "created", "reason / decision"):
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
            escape(_reason(run)),
        )
    return table
