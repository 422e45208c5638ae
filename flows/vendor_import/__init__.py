"""Vendor import: a vendor master and open purchase orders, from CSV into the accounting
system. A flow of one node, so that an import is executed by a worker and recorded like any
run (its input, every record created with its undo, its outcome); `bpa vendors import` and
`POST /vendors/import` start it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bpa.documents import DocumentRef, DocumentStore
from bpa.flows import Flow, one_step_graph
from bpa.roles import Role
from bpa.runs.context import RunContext
from flows.vendor_import.master_data import import_rows, read_rows, uploads

__all__ = ["VendorImportInput", "flow"]


class VendorImportInput(BaseModel):
    """The CSV files, kept by the engine in the import's own area of the document store
    (`master_data.uploads`; columns: `bpa vendors import --help`)."""

    model_config = ConfigDict(extra="forbid")

    vendors: DocumentRef | None = Field(default=None, description="The vendors CSV")
    purchase_orders: DocumentRef | None = Field(
        default=None, description="The open purchase orders CSV, one row per order line"
    )
    by: str | None = Field(default=None, max_length=200, description="Who asked for the import")

    @model_validator(mode="after")
    def _a_file(self) -> VendorImportInput:
        if self.vendors is None and self.purchase_orders is None:
            raise ValueError("give `vendors`, `purchase_orders` or both (stored CSV files)")
        return self


class ImportState(TypedDict, total=False):
    vendors: dict[str, Any] | None
    purchase_orders: dict[str, Any] | None
    by: str | None
    report: dict[str, Any]


async def import_master(state: ImportState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Reads both files (a file that cannot be read fails the run: `master_data_unreadable`)
    and creates what the accounting system does not hold yet; writes `report`."""
    ctx = runtime.context
    files = uploads(ctx.documents)

    def read(name: str) -> bytes | None:
        ref = state.get(name)  # type: ignore[misc]
        return files.read(DocumentRef.model_validate(ref)) if ref else None

    rows = read_rows(read("vendors"), read("purchase_orders"))
    report = await import_rows(ctx, rows)
    return {"report": report.as_json()}


def build_graph() -> StateGraph[Any, Any, Any, Any]:
    return one_step_graph(ImportState, VendorImportInput, "import_master", import_master)


def make_output(state: dict[str, Any]) -> dict[str, Any]:
    return dict(state.get("report") or {})


def load_input(path: Path, documents: DocumentStore) -> dict[str, Any]:
    """A CSV from the command line is a vendors file (`bpa vendors import` takes both)."""
    if path.suffix.lower() == ".json":
        return VendorImportInput.model_validate_json(path.read_bytes()).model_dump(mode="json")
    return VendorImportInput(vendors=uploads(documents).put_file(path)).model_dump(mode="json")


flow = Flow(
    name="vendor_import",
    version="1.0.0",
    description=(
        "Loads vendors and open purchase orders from CSV into the accounting system: "
        "each record created is audited, idempotent and undone by a rollback of the run."
    ),
    build_graph=build_graph,
    input_model=VendorImportInput,
    make_output=make_output,
    load_input=load_input,
    input_suffixes=(".csv", ".json"),
    connectors=("accounting",),
    start_role=Role.admin,  # as `POST /vendors/import`: not through an operator's start route
    caller_field="by",
    # Every record carries an idempotency key and an earlier attempt's records are found
    # by it, so a crashed import re-executes from the start instead of checkpointing.
    durability="exit",
)
