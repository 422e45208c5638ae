"""`bpa stats`: automation health per flow and version (what `/metrics` exports too).

Reads the database alone (no flow is loaded); the numbers and what each counts are
bpa/runs/stats.py's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bpa.cli._common import console, print_json, with_records

if TYPE_CHECKING:
    from bpa.runs.stats import VersionStats
    from bpa.suite import Records

__all__ = ["stats", "status_counts"]


def status_counts(runs: Mapping[str, int]) -> str:
    """`12 succeeded, 3 waiting`: most first."""
    return ", ".join(f"{n} {status}" for status, n in sorted(runs.items(), key=lambda i: -i[1]))


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.0%}"


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def stats(
    flow: Annotated[str | None, typer.Option(help="Only this flow")] = None,
    days: Annotated[
        int | None, typer.Option(min=1, help="Only runs created in the last DAYS days")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """Automation health per flow and version: runs by outcome, automation rate, human
    corrections per field, rollbacks, p50/p95 duration and model calls per run.

    A change in these after a new flow version is how drift shows. Automation: finished
    runs that succeeded without asking a human. Corrections: finished runs in which a human
    corrected the field. Duration: start to finish, waits for a human included."""
    from bpa.runs.stats import flow_stats

    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days) if days else None

    def work(records: Records) -> list[VersionStats]:
        return flow_stats(records.engine, flow=flow, since=since)

    found = with_records(work)
    if as_json:
        print_json([entry.as_json() for entry in found])
        return
    if not found:
        console.print("no runs" + (f" of flow {flow!r}" if flow else ""))
        return
    from rich.table import Table

    table = Table(title="automation health by flow version")
    columns = ("flow", "version", "runs", "automated", "corrected", "rollbacks")
    for column in (*columns, "p50", "p95", "model calls / run"):
        table.add_column(column, overflow="fold")
    for entry in found:
        corrected = ", ".join(f"{k} {_percent(v)}" for k, v in entry.correction_rates.items())
        per_run = entry.model_calls_per_run
        row: list[Any] = [
            entry.flow,
            entry.version,
            status_counts(entry.runs),
            _percent(entry.automation_rate),
            corrected,
            str(entry.rollbacks),
            _seconds(entry.p50_s),
            _seconds(entry.p95_s),
            "" if per_run is None else f"{per_run:.1f}",
        ]
        table.add_row(*row)
    console.print(table)
