"""`bpa vendors ...`: load the vendor master and open purchase orders from CSV; show and
forget what the invoice flow learned from reviewers' corrections, per vendor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bpa.cli._common import console, fail, print_json, with_suite
from bpa.runs.status import RunStatus

if TYPE_CHECKING:
    from bpa.runs.tables import Run
    from bpa.suite import Suite

__all__ = ["vendors_app"]

vendors_app = typer.Typer(
    help="The vendor master (CSV import) and the invoice flow's per-vendor memory.",
    no_args_is_help=True,
)


_FILES = ("vendors", "purchase_orders")


def _read(path: Path) -> bytes:
    from flows.vendor_import.master_data import MAX_BYTES

    if path.stat().st_size > MAX_BYTES:
        fail(f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MB")
    return path.read_bytes()


@vendors_app.command("import")
def import_(
    vendors: Annotated[
        Path | None,
        typer.Argument(exists=True, dir_okay=False, help="Vendors CSV (see below)"),
    ] = None,
    purchase_orders: Annotated[
        Path | None,
        typer.Option(
            "--purchase-orders",
            "-p",
            exists=True,
            dir_okay=False,
            help="Open purchase orders CSV, one row per order line (see below)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Load vendors and open purchase orders into the accounting system, through its
    connector: each record created is audited, idempotent and undone by
    `bpa runs rollback RUN_ID` (the import is a run). Rows already there (same VAT id,
    IBAN or name; a PO's number) are left alone; bad rows are listed with their line.

    \b
    Vendors CSV (UTF-8, header row; only name is required):
      name,tax_id,iban,address,country,currency,payment_terms_days,aliases
      (aliases separated by |; country ISO 3166 alpha-2; currency ISO 4217)
    Purchase-orders CSV (one row per line; lines of one order share its number):
      number,vendor,currency,order_date,line_no,description,quantity,unit_price,sku
      (vendor: a vendor id, VAT id or exact name; order_date YYYY-MM-DD)
    """
    from flows.vendor_import.master_data import (
        MasterDataError,
        accounting_problem,
        read_rows,
        uploads,
    )

    if vendors is None and purchase_orders is None:
        fail("give a vendors CSV, --purchase-orders FILE, or both (see: bpa vendors import --help)")
    files = {
        name: (path.name, _read(path))
        for name, path in (("vendors", vendors), ("purchase_orders", purchase_orders))
        if path is not None
    }
    try:  # a file that cannot be imported at all is refused before a run is recorded
        read_rows(*(files[name][1] if name in files else None for name in _FILES))
    except MasterDataError as exc:
        fail(exc.message)

    async def work(suite: Suite) -> Run:
        if problem := accounting_problem(suite):
            fail(problem)
        payload = {
            name: uploads(suite.documents)
            .put(content, filename, "text/csv")
            .model_dump(mode="json")
            for name, (filename, content) in files.items()
        }
        return await suite.runner.start("vendor_import", payload, trigger="cli")

    run = with_suite(work)
    if run.status != RunStatus.succeeded:
        error = run.error or {}
        fail(f"import run {run.id} {run.status}: {error.get('message', 'see bpa runs show')}")
    report = run.output or {}
    if as_json:
        print_json(report)
    else:
        table = Table(title=f"import run {run.id}")
        for column in ("records", "created", "already there"):
            table.add_column(column, justify="left" if column == "records" else "right")
        for name in ("vendors", "purchase_orders"):
            table.add_row(name, str(report["created"][name]), str(report["existing"][name]))
        console.print(table)
        for problem in report["errors"]:
            console.print(
                f"  {problem['file']} line {problem['line']}: {problem['error']}",
                markup=False,
                highlight=False,
            )
    if report["errors"]:
        raise typer.Exit(1)


@vendors_app.command("memory")
def show_memory(
    vendor: Annotated[
        str | None, typer.Argument(help="A vendor id; all vendors if left out")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON")] = False,
) -> None:
    """What the invoice flow learned from reviewers' corrections: per vendor, the fields it
    finds where a reviewer found them (by label and position, never a stored value), its
    usual currency and VAT id."""
    from flows.invoice_processing import memory

    async def work(suite: Suite) -> list[dict[str, Any]]:
        store = suite.runner.memory
        if store is None:
            return []
        if vendor:
            found = await memory.recall(store, vendor)
            return [found] if found else []
        return await memory.remembered(store)

    found = with_suite(work)
    if vendor and not found:
        fail(f"nothing is remembered for vendor {vendor!r} (see: bpa vendors memory)")
    if as_json:
        print_json(found)
        return
    table = Table(title="vendor memory")
    for column in ("vendor", "name", "fields learned", "labels", "currency", "VAT id"):
        table.add_column(column)
    for item in found:
        labels = "; ".join(
            f"{field}: {rules[0]['label']!r}" for field, rules in (item.get("rules") or {}).items()
        )
        table.add_row(
            str(item.get("vendor_id")),
            str(item.get("vendor_name") or ""),
            ", ".join(item.get("fields") or []),
            labels,
            str(item.get("currency") or ""),
            str(item.get("vendor_tax_id") or ""),
        )
    console.print(table)


@vendors_app.command("forget")
def forget(
    vendor: Annotated[str, typer.Argument(help="The vendor id")],
    field: Annotated[
        str | None, typer.Option("--field", "-f", help="Forget only this field (e.g. total)")
    ] = None,
) -> None:
    """Forget what was learned for VENDOR (or only its --field): its next invoices are read
    without it."""
    from flows.invoice_processing import memory

    async def work(suite: Suite) -> Run | None:
        store = suite.runner.memory
        before = await memory.recall(store, vendor) if store is not None else None
        if before is None or not memory.forgettable(before, field):
            return None  # nothing to forget: no run recorded
        payload = {"vendor_id": vendor, "field": field, "by": None}
        return await suite.runner.start(memory.FORGET_FLOW, payload, trigger="cli")

    run = with_suite(work)
    gone = list((run.output or {}).get("forgotten") or []) if run is not None else []
    if run is not None and run.status != RunStatus.succeeded:
        fail(f"forget run {run.id} {run.status}: {(run.error or {}).get('message', '')}")
    if run is None or not gone:
        what = f"field {field!r} of vendor {vendor!r}" if field else f"vendor {vendor!r}"
        fail(f"nothing is remembered for {what} (see: bpa vendors memory {vendor})")
    console.print(f"forgotten for {vendor}: {', '.join(gone)} (recorded as run {run.id})")
