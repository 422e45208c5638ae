"""`bpa demo`: seed the mocked systems and run the sample documents, end to end."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from bpa.cli._common import console, err, with_suite
from bpa.cli._demo_cs import cs_table, customer_service_demo
from bpa.cli._demo_sales import ensure_sales_schedule, sales_operations_demo
from bpa.config import Settings

if TYPE_CHECKING:
    from bpa.batch import BatchItem, BatchResult
    from bpa.suite import Suite

__all__ = ["demo"]

_INVOICES = "invoice_processing"


async def _invoice_demo(suite: Suite, concurrency: int) -> tuple[BatchResult, list[str]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from bpa.batch import expand_paths, run_batch

    flow = suite.runner.flow(_INVOICES)
    folder = suite.settings.fixtures_dir / "invoices"
    suffixes = tuple(s for s in flow.input_suffixes if s != ".json")
    files = expand_paths([folder], suffixes) + expand_paths([folder / "bad"], suffixes)
    if not files:
        raise FileNotFoundError(f"no sample invoices in {folder}")
    inputs = [
        (
            str(f.relative_to(suite.settings.fixtures_dir.parent)),
            partial(flow.input_from_file, f, suite.documents),
        )
        for f in files
    ]
    with Progress("{task.description}", BarColumn(), MofNCompleteColumn(), console=err) as bar:
        task = bar.add_task("invoices", total=len(inputs))

        def done(_: BatchItem) -> None:
            bar.advance(task)

        result = await run_batch(
            suite.runner,
            _INVOICES,
            inputs,
            concurrency=concurrency,
            trigger="demo",
            key_prefix="demo",
            on_done=done,
        )
    return result, await _human_decisions(suite, result)


#: The demo's reviewer: which invoice it decides (the first whose issue codes fit), how,
#: and why. The same invoices every time, each decided once.
_REVIEWS: tuple[tuple[Callable[[set[str]], bool], str, str, str], ...] = (
    (
        lambda codes: codes == {"above_threshold"},
        "approve",
        "demo: checked against the contract",
        "above threshold",
    ),
    (
        lambda codes: bool(codes & {"iban_mismatch", "suspicious_instructions"}),
        "reject",
        "demo: bank details not on file",
        "bank details differ from the vendor master",
    ),
)
_REVIEWER = "demo-approver"


def _codes(item: BatchItem) -> set[str]:
    return {i["code"] for i in (item.output or {}).get("issues", [])}


async def _human_decisions(suite: Suite, result: BatchResult) -> list[str]:
    """What a reviewer does with two of the invoices, to show both outcomes.

    Idempotent, like the batch: the reviewer picks the same documents on every demo, and
    one already decided (by an earlier demo) is reported, not decided again."""
    notes: list[str] = []
    for fits, action, comment, why in _REVIEWS:
        match = next((i for i in result.items if i.run_id and fits(_codes(i))), None)
        if match is None or match.run_id is None:
            continue
        done = "approved" if action == "approve" else "rejected"
        if match.status == "waiting":
            run = await suite.runner.resume(
                match.run_id, {"action": action, "comment": comment}, by=_REVIEWER
            )
            match.status, match.output = str(run.status), run.output
            notes.append(f"{done} {match.input} ({why}) as {_REVIEWER}")
        elif (match.output or {}).get("decision") == done:
            notes.append(f"{done} {match.input} ({why}) as {_REVIEWER}, in an earlier demo")
    return notes


def _open_actions(suite: Suite, result: BatchResult) -> dict[str, list[str]]:
    """What the open question of each waiting run accepts (approve, reject, correct)."""
    found: dict[str, list[str]] = {}
    for item in result.items:
        if item.status == "waiting" and item.run_id:
            approval = suite.store.pending_approval(item.run_id)
            if approval is not None:
                found[item.run_id] = list(approval.question.get("actions") or [])
    return found


def _table(result: BatchResult) -> Table:
    table = Table(title="invoice processing", expand=False)
    table.add_column("document", overflow="fold")
    table.add_column("status")
    table.add_column("decision")
    table.add_column("total", justify="right")
    table.add_column("why", overflow="fold")
    colours = {"succeeded": "green", "failed": "red", "waiting": "yellow"}
    for item in result.items:
        out = item.output or {}
        total = f"{out['total']:,.2f} {out.get('currency') or ''}" if out.get("total") else ""
        why = (
            str(item.error.get("code"))
            if item.error
            else ", ".join(sorted({i["code"] for i in out.get("issues", [])}))
        )
        table.add_row(
            Path(item.input).name,
            f"[{colours.get(item.status, 'white')}]{item.status}[/]",
            str(out.get("decision") or ""),
            total,
            why,
        )
    return table


def _report_invoices(result: BatchResult, notes: list[str], actions: dict[str, list[str]]) -> None:
    """The table, the outcome counts, and commands for the waiting invoices that work as
    printed (`actions`: what each waiting run's question accepts)."""
    console.print(_table(result))
    for note in notes:
        console.print(f"[bold]reviewer:[/bold] {note}", soft_wrap=True)
    counts: dict[str, int] = {}
    for item in result.items:
        key = str((item.output or {}).get("decision") or item.status)
        counts[key] = counts.get(key, 0) + 1
    console.print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    for item in result.items:
        if item.error:
            console.print(
                f"[red]failed[/red] {Path(item.input).name}: {item.error.get('message')}",
                soft_wrap=True,
            )
    waiting = [i for i in result.items if i.status == "waiting" and i.run_id]
    if not waiting:
        return
    approvable = [i for i in waiting if "approve" in actions.get(str(i.run_id), [])]
    blocked = [i for i in waiting if i not in approvable]
    examples = (approvable[:1] + blocked[:2]) or waiting[:3]
    console.print(f"\n{len(waiting)} invoices wait for a human, for example:")
    for item in examples:
        why = ", ".join(sorted(_codes(item))) or "review"
        console.print(
            f"  {Path(item.input).name} ({why}): [bold]bpa runs show {item.run_id}[/bold]",
            soft_wrap=True,
        )
    if approvable:
        console.print(
            f"approve one with [bold]bpa approve {approvable[0].run_id}[/bold]", soft_wrap=True
        )
    if blocked:
        console.print(
            f"blocking issues cannot be approved as they stand: [bold]bpa approve "
            f"{blocked[0].run_id} --reject[/bold] (or --correct FIELD=VALUE)",
            soft_wrap=True,
        )


def demo(
    reset: Annotated[
        bool, typer.Option("--reset", help="Start from empty databases (deletes BPA_HOME)")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=32)] = 4,
) -> None:
    """Seed the mocked systems and run the sample documents through every flow.

    Invoices end approved, waiting for a human, rejected or failed with a reason; customer
    messages are answered within policy; a sales review writes its report and a weekly
    schedule is created for it. Running it again shows the same runs and outcomes: every
    run is keyed, and what the demo's reviewers decided is not decided again.
    """
    settings = Settings()
    if reset and settings.home.exists():
        shutil.rmtree(settings.home)

    async def work(suite: Suite) -> None:
        result, notes = await _invoice_demo(suite, concurrency)
        _report_invoices(result, notes, _open_actions(suite, result))
        if "customer_service" in suite.flows:
            cases = await customer_service_demo(suite)
            console.print(cs_table(cases))
            for case in cases:
                for note in case.notes:
                    console.print(f"[bold]{case.message}:[/bold] {note}", soft_wrap=True)
        if "sales_operations" in suite.flows:
            schedule = ensure_sales_schedule(suite)
            console.print(
                f"schedule [bold]{schedule.name}[/bold]: {schedule.flow} at "
                f"'{schedule.cron}' ({schedule.timezone}); `bpa scheduler` or `bpa serve` fires it"
            )
            await sales_operations_demo(suite)

    with_suite(work, settings)
    console.print(
        f"data: {settings.home.resolve()} (databases, documents); a re-run shows the same "
        "runs, --reset starts over",
        soft_wrap=True,
    )
