"""`bpa demo`: seed the mocked systems and run the sample documents, end to end."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress
from rich.table import Table

from bpa.batch import BatchItem, BatchResult, expand_paths, run_batch
from bpa.cli._common import console, err, with_suite
from bpa.cli._demo_cs import cs_table, customer_service_demo
from bpa.cli._demo_sales import ensure_sales_schedule, sales_operations_demo
from bpa.config import Settings
from bpa.suite import Suite

__all__ = ["demo"]

_INVOICES = "invoice_processing"


async def _invoice_demo(suite: Suite, concurrency: int) -> tuple[BatchResult, list[str]]:
    flow = suite.runner.flow(_INVOICES)
    folder = suite.settings.fixtures_dir / "invoices"
    suffixes = tuple(s for s in flow.input_suffixes if s != ".json")
    files = expand_paths([folder], suffixes) + expand_paths([folder / "bad"], suffixes)
    if not files:
        raise FileNotFoundError(f"no sample invoices in {folder}")
    inputs = [
        (
            str(f.relative_to(suite.settings.fixtures_dir.parent)),
            (lambda f=f: flow.input_from_file(f, suite.documents)),
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


async def _human_decisions(suite: Suite, result: BatchResult) -> list[str]:
    """What a reviewer would do with two of the waiting invoices, to show both outcomes."""
    notes: list[str] = []
    waiting = [i for i in result.items if i.status == "waiting" and i.run_id]

    def codes(item: BatchItem) -> set[str]:
        return {i["code"] for i in (item.output or {}).get("issues", [])}

    big = next((i for i in waiting if codes(i) == {"above_threshold"}), None)
    if big and big.run_id:
        run = await suite.runner.resume(
            big.run_id,
            {"action": "approve", "comment": "demo: checked against the contract"},
            by="demo-approver",
        )
        big.status, big.output = str(run.status), run.output
        notes.append(f"approved {big.input} (above threshold) as demo-approver")
    risky = next(
        (i for i in waiting if codes(i) & {"iban_mismatch", "suspicious_instructions"}), None
    )
    if risky and risky.run_id:
        run = await suite.runner.resume(
            risky.run_id,
            {"action": "reject", "comment": "demo: bank details not on file"},
            by="demo-approver",
        )
        risky.status, risky.output = str(run.status), run.output
        notes.append(f"rejected {risky.input} (bank details differ from the vendor master)")
    return notes


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


def _report_invoices(result: BatchResult, notes: list[str]) -> None:
    console.print(_table(result))
    for note in notes:
        console.print(f"[bold]reviewer:[/bold] {note}")
    counts: dict[str, int] = {}
    for item in result.items:
        key = str((item.output or {}).get("decision") or item.status)
        counts[key] = counts.get(key, 0) + 1
    console.print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    for item in result.items:
        if item.error:
            console.print(f"[red]failed[/red] {Path(item.input).name}: {item.error.get('message')}")
    waiting = [i for i in result.items if i.status == "waiting"]
    if waiting:
        console.print(f"\n{len(waiting)} invoices wait for a human, for example:")
        for item in waiting[:3]:
            console.print(f"  {Path(item.input).name}: [bold]bpa runs show {item.run_id}[/bold]")
        console.print(
            f"approve one with [bold]bpa approve {waiting[0].run_id}[/bold] "
            "(or --reject, or --correct FIELD=VALUE)"
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
    schedule is created for it.
    """
    settings = Settings()
    if reset and settings.home.exists():
        shutil.rmtree(settings.home)

    async def work(suite: Suite) -> None:
        result, notes = await _invoice_demo(suite, concurrency)
        _report_invoices(result, notes)
        if "customer_service" in suite.flows:
            cases = await customer_service_demo(suite)
            console.print(cs_table(cases))
            for case in cases:
                for note in case.notes:
                    console.print(f"[bold]supervisor:[/bold] {note}")
        if "sales_operations" in suite.flows:
            schedule = ensure_sales_schedule(suite)
            console.print(
                f"schedule [bold]{schedule.name}[/bold]: {schedule.flow} at "
                f"'{schedule.cron}' ({schedule.timezone}); `bpa scheduler` or `bpa serve` fires it"
            )
            await sales_operations_demo(suite)

    with_suite(work, settings)
    console.print(f"data: {settings.home.resolve()} (databases, documents); re-run with --reset")
