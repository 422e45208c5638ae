"""The sales-operations part of `bpa demo`: a weekly schedule, and one review run now.

`bpa demo` calls `ensure_sales_schedule(suite)` (idempotent: a second demo finds the
schedule) and `sales_operations_demo(suite)`. The schedule fires every Monday at 07:00 UTC
with the fixtures' review date; `bpa scheduler` or `bpa serve` runs it.
"""

from __future__ import annotations

import json
from typing import Any

from bpa.cli._common import console
from bpa.runs.tables import Run
from bpa.schedules import Schedule, check_schedule
from bpa.suite import Suite

__all__ = ["SALES_SCHEDULE", "demo_input", "ensure_sales_schedule", "sales_operations_demo"]

FLOW = "sales_operations"
SALES_SCHEDULE = "sales-operations-weekly"
WEEKLY = "0 7 * * MON"


def demo_input(suite: Suite) -> dict[str, Any]:
    """The review input for the demo data: as of the fixtures' date (their manifest says)."""
    manifest = suite.settings.fixtures_dir / "crm_sales" / "manifest.json"
    as_of = json.loads(manifest.read_text())["as_of"] if manifest.is_file() else None
    return {"as_of": as_of, "stalled_days": 30, "top_n": 5} if as_of else {}


def ensure_sales_schedule(suite: Suite) -> Schedule:
    """The weekly pipeline review schedule, created unless a schedule of that name exists."""
    schedule = suite.schedules.named(SALES_SCHEDULE)
    if schedule is not None:
        return schedule
    payload = demo_input(suite)
    check_schedule(suite.runner, FLOW, payload)
    return suite.schedules.create(
        flow=FLOW,
        cron=WEEKLY,
        timezone="UTC",
        input=payload,
        overlap="skip",
        misfire="run_once",
        name=SALES_SCHEDULE,
    )


async def sales_operations_demo(suite: Suite) -> Run:
    """Run one review and say where its report is and what it did in the CRM. Keyed by its
    input: a second demo shows the same review instead of running (and writing CRM tasks)
    again."""
    payload = demo_input(suite)
    key = f"demo:{FLOW}:{payload.get('as_of') or 'today'}"
    run = await suite.runner.start(FLOW, payload, trigger="demo", idempotency_key=key)
    out = run.output or {}
    if run.status != "succeeded":
        error = run.error or {}
        console.print(f"[red]sales review {run.status}[/red]: {error.get('message', '')}")
        return run
    numbers = out.get("numbers") or {}
    totals = numbers.get("totals") or {}
    console.print(
        f"[bold]sales review[/bold] as of {out.get('as_of')}: "
        f"{numbers.get('counts', {}).get('opportunities', 0):,} deals, win rate "
        f"{(totals.get('win_rate') or 0):.1%}, {len(out.get('data_quality') or [])} data-quality "
        f"problems, {len(out.get('drafts') or [])} e-mail drafts (not sent), "
        f"{out.get('tasks_created', 0)} new CRM tasks"
        + (" [red](PARTIAL data)[/red]" if out.get("partial") else "")
    )
    console.print(f"report: {out.get('report_url')}")
    console.print(f"summary: {out.get('report_markdown')}")
    return run
