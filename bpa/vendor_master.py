"""Loading a vendor master and open purchase orders from CSV into the accounting system.

The import is recorded as a run of its own (flow ``vendor_import``, never queued to a
worker): every record it creates is a side-effecting connector call with an idempotency
key (the run, the file and the CSV line), an audit event and the connector's declared
undo, so `bpa runs rollback RUN_ID` takes an import back like any run. A row the system
already holds (same VAT id or IBAN, or the same name; a purchase order's number) is
reported as existing and left alone, so importing a file twice creates nothing twice. A
bad row is reported with its line number and the reason; the other rows are imported.

Vendors CSV (UTF-8, header row; only ``name`` is required)::

    name,tax_id,iban,address,country,currency,payment_terms_days,aliases

``aliases`` separated by ``|``. Purchase-orders CSV, one row per order line, the lines of
one order under the same ``number``::

    number,vendor,currency,order_date,line_no,description,quantity,unit_price,sku

``vendor`` is a vendor id, VAT id or exact name; ``order_date`` is YYYY-MM-DD.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rapidfuzz import utils

from bpa.runs.admin import recorded_action
from bpa.runs.audit import RunAudit
from bpa.runs.context import AuditedConnector
from connectors.errors import ConnectorError, NotFound
from connectors.schemas import (
    PurchaseOrderCreate,
    PurchaseOrderLine,
    PurchaseOrderRef,
    Vendor,
    VendorCreate,
    VendorRef,
    VendorSearch,
)

if TYPE_CHECKING:
    from bpa.suite import Suite

__all__ = [
    "FLOW",
    "MAX_BYTES",
    "MAX_ROWS",
    "PO_COLUMNS",
    "VENDOR_COLUMNS",
    "ImportReport",
    "MasterDataError",
    "import_master",
]

FLOW = "vendor_import"
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
VENDOR_COLUMNS = (
    "name",
    "tax_id",
    "iban",
    "address",
    "country",
    "currency",
    "payment_terms_days",
    "aliases",
)
PO_COLUMNS = (
    "number",
    "vendor",
    "currency",
    "order_date",
    "line_no",
    "description",
    "quantity",
    "unit_price",
    "sku",
)


class MasterDataError(ValueError):
    """A file that cannot be imported at all (too large, not CSV, missing columns)."""


@dataclass
class ImportReport:
    run_id: str
    created: dict[str, int] = field(default_factory=lambda: {"vendors": 0, "purchase_orders": 0})
    existing: dict[str, int] = field(default_factory=lambda: {"vendors": 0, "purchase_orders": 0})
    errors: list[dict[str, Any]] = field(default_factory=list)
    """One per bad row: ``file``, ``line``, ``error``."""

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "created": self.created,
            "existing": self.existing,
            "errors": self.errors,
        }


def _rows(
    data: bytes, what: str, columns: tuple[str, ...], required: set[str]
) -> list[tuple[int, dict[str, str]]]:
    if len(data) > MAX_BYTES:
        raise MasterDataError(f"the {what} file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MasterDataError(f"the {what} file is not UTF-8 text (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = sorted(required - set(header))
    if missing:
        raise MasterDataError(
            f"the {what} file lacks column(s) {', '.join(missing)}; "
            f"its columns are: {', '.join(columns)}"
        )
    unknown = sorted(set(header) - set(columns))
    if unknown:
        raise MasterDataError(
            f"the {what} file has unknown column(s) {', '.join(unknown)}; "
            f"its columns are: {', '.join(columns)}"
        )
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise MasterDataError(f"the {what} file has more than {MAX_ROWS} rows")
            clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if any(clean.values()):
                rows.append((reader.line_num, clean))
    except csv.Error as exc:
        raise MasterDataError(
            f"the {what} file is not valid CSV: line {reader.line_num}: {exc}"
        ) from None
    return rows


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    if isinstance(exc, ConnectorError):
        return f"{exc.code}: {exc.message}"
    return str(exc)


def _vendor_request(row: dict[str, str]) -> VendorCreate:
    data: dict[str, Any] = {k: v for k, v in row.items() if v}
    if "aliases" in data:
        data["aliases"] = [a.strip() for a in data["aliases"].split("|") if a.strip()]
    return VendorCreate.model_validate(data)


def _accounting(suite: Suite) -> Any:
    connector = suite.connectors.get("accounting")
    if connector is None or not connector.supports("vendor_master"):
        problem = suite.connector_problems.get("accounting", "it has no vendor master")
        raise MasterDataError(f"the accounting connector cannot load vendors: {problem}")
    return connector


class _Importer:
    def __init__(self, suite: Suite, run_id: str) -> None:
        connector = _accounting(suite)
        self.audit = RunAudit(run_id, suite.store.add_events)
        self.accounting: Any = AuditedConnector(
            connector, self.audit, suite.runner.ledger, run_id=run_id
        )
        self.run_id = run_id

    async def existing_vendor(self, request: VendorCreate) -> Vendor | None:
        if request.tax_id or request.iban:
            search = VendorSearch(tax_id=request.tax_id, iban=request.iban, limit=1)
            found = await self.accounting.search_vendors(search)
            if found and found[0].vendor.active:
                return found[0].vendor  # type: ignore[no-any-return]
        wanted = utils.default_process(request.name)
        for match in await self.accounting.search_vendors(VendorSearch(name=request.name)):
            if match.vendor.active and utils.default_process(match.vendor.name) == wanted:
                return match.vendor  # type: ignore[no-any-return]
        return None

    async def vendor_id(self, reference: str) -> str:
        try:
            vendor = await self.accounting.get_vendor(VendorRef(vendor_id=reference))
            return str(vendor.id)
        except NotFound:
            pass
        by_tax = await self.accounting.search_vendors(VendorSearch(tax_id=reference, limit=1))
        if by_tax:
            return str(by_tax[0].vendor.id)
        found = await self.existing_vendor(VendorCreate(name=reference))
        if found is None:
            raise NotFound(f"no vendor {reference!r} (give its id, VAT id or exact name)")
        return found.id

    def key(self, what: str, file_tag: str, line: int) -> str:
        return f"{self.run_id}:import:{what}:{file_tag}:line{line}"

    async def vendors(self, rows: list[Any], report: ImportReport) -> None:
        for line, row in rows:
            try:
                request = _vendor_request(row)
                if await self.existing_vendor(request) is not None:
                    report.existing["vendors"] += 1
                    continue
                await self.accounting.create_vendor(
                    request, idempotency_key=self.key("vendor", "v", line)
                )
                report.created["vendors"] += 1
            except (ValidationError, ConnectorError) as exc:
                report.errors.append({"file": "vendors", "line": line, "error": _problem(exc)})

    async def purchase_orders(self, rows: list[Any], report: ImportReport) -> None:
        orders: dict[str, list[Any]] = {}
        for line, row in rows:
            orders.setdefault(row.get("number") or f"(line {line})", []).append((line, row))
        for number, lines in orders.items():
            first_line, head = lines[0]
            try:
                try:
                    await self.accounting.get_purchase_order(PurchaseOrderRef(number=number))
                except NotFound:
                    pass
                else:
                    report.existing["purchase_orders"] += 1
                    continue
                request = PurchaseOrderCreate(
                    number=head.get("number") or "",
                    vendor_id=await self.vendor_id(head.get("vendor") or ""),
                    currency=head.get("currency") or "",
                    order_date=head.get("order_date") or "",  # type: ignore[arg-type]
                    lines=[
                        PurchaseOrderLine.model_validate(
                            {
                                "line_no": row.get("line_no") or index,
                                "description": row.get("description") or "",
                                "quantity": row.get("quantity") or "",
                                "unit_price": row.get("unit_price") or "",
                                "sku": row.get("sku") or None,
                            }
                        )
                        for index, (_, row) in enumerate(lines, start=1)
                    ],
                )
                await self.accounting.create_purchase_order(
                    request, idempotency_key=self.key("po", "p", first_line)
                )
                report.created["purchase_orders"] += 1
            except (ValidationError, ConnectorError) as exc:
                report.errors.append(
                    {"file": "purchase_orders", "line": first_line, "error": _problem(exc)}
                )


async def import_master(
    suite: Suite,
    vendors: bytes | None,
    purchase_orders: bytes | None = None,
    *,
    trigger: str = "cli",
    by: str | None = None,
) -> ImportReport:
    """Import the vendors, then the purchase orders (which may name the new vendors).

    `MasterDataError` for a file that cannot be read at all, before anything is recorded."""
    vendor_rows = _rows(vendors, "vendors", VENDOR_COLUMNS, {"name"}) if vendors else []
    po_rows = (
        _rows(purchase_orders, "purchase orders", PO_COLUMNS, {"number", "vendor", "order_date"})
        if purchase_orders
        else []
    )
    if not vendor_rows and not po_rows:
        raise MasterDataError("nothing to import: the files have no data rows")
    _accounting(suite)  # refused before a run is recorded
    with recorded_action(
        suite.store,
        flow=FLOW,
        input={"vendors": len(vendor_rows), "purchase_orders": len(po_rows), "by": by},
        trigger=trigger,
        failure_code="import_failed",
    ) as action:
        report = ImportReport(run_id=action.run_id)
        importer = _Importer(suite, action.run_id)
        try:
            await importer.vendors(vendor_rows, report)
            await importer.purchase_orders(po_rows, report)
        finally:
            importer.audit.flush()
            action.output = report.as_json()
            action.summary["errors"] = len(report.errors)
    return report
