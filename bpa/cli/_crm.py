"""`bpa crm ...`: load data into the mocked CRM (public data sets, synthetic scale-up)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bpa.cli._common import console, err, with_suite

if TYPE_CHECKING:
    from bpa.suite import Suite

__all__ = ["crm_app"]

crm_app = typer.Typer(help="Load data into the mocked CRM.", no_args_is_help=True)


@crm_app.command("import-sales")
def import_sales(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            file_okay=False,
            help="Folder with sales_pipeline.csv, accounts.csv, products.csv, sales_teams.csv",
        ),
    ],
    scale: Annotated[
        int, typer.Option(min=1, max=1000, help="Then copy every deal to make N times as many")
    ] = 1,
    merge: Annotated[
        bool, typer.Option("--merge", help="Keep the CRM's other sales data (default: replace)")
    ] = False,
) -> None:
    """Import the public CRM Sales Opportunities data set (its CSV format) into the mocked CRM.

    The CRM keeps the set's quirks (a product spelled two ways, deals with no account or no
    close value); they are listed after the import.
    """
    from connectors.errors import ConnectorError
    from connectors.schemas import ImportDataset

    async def work(suite: Suite) -> Any:
        crm: Any = suite.connectors.get("crm")  # the mock's loaders are not actions
        if crm is None or not hasattr(crm, "import_maven_dataset"):
            problem = suite.connector_problems.get("crm", "not installed")
            raise FileNotFoundError(f"the mocked CRM connector is not available: {problem}")
        started = time.perf_counter()
        report = crm.import_maven_dataset(ImportDataset(path=str(path), replace=not merge))
        imported = time.perf_counter() - started
        added = crm.scale_up(scale) if scale > 1 else 0
        return report, imported, added, crm.sales_counts()

    try:
        report, seconds, added, counts = with_suite(work)
    except ConnectorError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    table = Table(title=f"imported {path} in {seconds:.2f} s")
    table.add_column("records")
    table.add_column("imported", justify="right")
    table.add_column("in the CRM now", justify="right")
    for name in ("accounts", "agents", "products", "opportunities"):
        table.add_row(name, str(getattr(report, name)), str(counts.get(name, "")))
    console.print(table)
    if added:
        console.print(f"scaled up x{scale}: {added} copied deals added")
    for note in report.notes:
        console.print(f"  - {note}")
