"""Reading a vendor master and open purchase orders from CSV, and loading them into the
accounting system through its connector.

The rows are read (`read_rows`) before a run is recorded, so that a file that cannot be
imported at all is refused at once; the import itself is the `vendor_import` flow's one
node (`import_master`), executed by a worker like any run: every record it creates is a
side-effecting connector call with an idempotency key (the run, the file and the CSV line),
an audit event and the connector's declared undo, so `bpa runs rollback RUN_ID` takes an
import back like any run. A row the system already holds (same VAT id or IBAN, or the same
name; a purchase order's number) is reported as existing and left alone, so importing a
file twice creates nothing twice. A bad row is reported with its line number and the
reason; the other rows are imported.

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

from bpa.errors import FlowError
from connectors.errors import ConnectorError, NotFound
from connectors.kinds import AccountingConnector
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
    from bpa.documents import DocumentStore
    from bpa.runs.context import RunContext
    from bpa.suite import Suite

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "PO_COLUMNS",
    "VENDOR_COLUMNS",
    "ImportReport",
    "MasterDataError",
    "MasterRows",
    "accounting_problem",
    "import_rows",
    "read_rows",
    "uploads",
]

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
_NODE = "import_master"


class MasterDataError(FlowError):
    """A file that cannot be imported at all (too large, not CSV, missing columns)."""

    def __init__(self, message: str) -> None:
        super().__init__("master_data_unreadable", message)


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


Row = tuple[int, dict[str, str]]


@dataclass(frozen=True)
class MasterRows:
    """The data rows of both files, each with its CSV line number."""

    vendors: list[Row]
    purchase_orders: list[Row]


def uploads(documents: DocumentStore) -> DocumentStore:
    """Where the import's files are kept: an area of the document store of their own, so a
    vendor master (IBANs, VAT ids) never becomes a document another run may refer to."""
    return documents.area("vendor_master", max_bytes=MAX_BYTES)


def read_rows(vendors: bytes | None, purchase_orders: bytes | None) -> MasterRows:
    """Both files' rows; `MasterDataError` for a file that cannot be read at all, or when
    neither has a data row."""
    rows = MasterRows(
        vendors=_rows(vendors, "vendors", VENDOR_COLUMNS, {"name"}) if vendors else [],
        purchase_orders=(
            _rows(
                purchase_orders, "purchase orders", PO_COLUMNS, {"number", "vendor", "order_date"}
            )
            if purchase_orders
            else []
        ),
    )
    if not rows.vendors and not rows.purchase_orders:
        raise MasterDataError("nothing to import: the files have no data rows")
    return rows


def accounting_problem(suite: Suite) -> str | None:
    """Why the suite's accounting connector cannot load a vendor master (None: it can), so
    that an import it would refuse is turned away before a run is recorded."""
    connector = suite.connectors.get("accounting")
    if connector is not None and connector.supports("vendor_master"):
        return None
    problem = suite.connector_problems.get("accounting", "it has no vendor master")
    return f"the accounting connector cannot load vendors: {problem}"


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


class _Importer:
    def __init__(self, ctx: RunContext) -> None:
        self.accounting: Any = ctx.connector(AccountingConnector, needs=["vendor_master"])
        self.ctx = ctx

    def key(self, action: str, line: int) -> str:
        return self.ctx.idempotency_key(_NODE, action, f"line{line}")

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

    async def done_before(self, action: str, line: int) -> bool:
        """Whether an earlier attempt of this run created the row's record (a worker that
        died mid-import re-executes it): counted as created again, not as existing."""
        return await self.accounting.recorded(action, self.key(action, line)) is not None

    async def vendors(self, rows: list[Row], report: ImportReport) -> None:
        for line, row in rows:
            try:
                request = _vendor_request(row)
                if await self.done_before("create_vendor", line):
                    report.created["vendors"] += 1
                    continue
                if await self.existing_vendor(request) is not None:
                    report.existing["vendors"] += 1
                    continue
                await self.accounting.create_vendor(
                    request, idempotency_key=self.key("create_vendor", line)
                )
                report.created["vendors"] += 1
            except (ValidationError, ConnectorError) as exc:
                report.errors.append({"file": "vendors", "line": line, "error": _problem(exc)})

    async def purchase_orders(self, rows: list[Row], report: ImportReport) -> None:
        orders: dict[str, list[Row]] = {}
        for line, row in rows:
            orders.setdefault(row.get("number") or f"(line {line})", []).append((line, row))
        for number, lines in orders.items():
            first_line, head = lines[0]
            try:
                if await self.done_before("create_purchase_order", first_line):
                    report.created["purchase_orders"] += 1
                    continue
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
                    request, idempotency_key=self.key("create_purchase_order", first_line)
                )
                report.created["purchase_orders"] += 1
            except (ValidationError, ConnectorError) as exc:
                report.errors.append(
                    {"file": "purchase_orders", "line": first_line, "error": _problem(exc)}
                )


async def import_rows(ctx: RunContext, rows: MasterRows) -> ImportReport:
    """Import the vendors, then the purchase orders (which may name the new vendors)."""
    report = ImportReport(run_id=ctx.run_id)
    importer = _Importer(ctx)
    await importer.vendors(rows.vendors, report)
    await importer.purchase_orders(rows.purchase_orders, report)
    return report
