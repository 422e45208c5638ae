"""The mocked accounting system: an AP ledger in its own SQL tables, behind the accounting kind.

It refuses what a real one refuses (unknown vendor, duplicate invoice, unbalanced amounts,
closed period), so flows meet those failures in tests rather than in production.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, func, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel, select

from connectors.accounting import _bills, _ledger, _master, _vendors
from connectors.accounting._seed import seed_if_empty
from connectors.accounting.tables import (
    TABLES,
    AcctBill,
    AcctJournalEntry,
    AcctPeriod,
    AcctPurchaseOrder,
    AcctPurchaseOrderLine,
    AcctVendor,
)
from connectors.base import Done, Irreversible, Undo, action
from connectors.errors import NotFound, Rejected
from connectors.kinds import AccountingConnector
from connectors.schemas import (
    Bill,
    BillCreate,
    BillRef,
    BillSearch,
    BillVoid,
    JournalEntry,
    JournalEntryCreate,
    JournalEntryRef,
    Period,
    PeriodRef,
    PurchaseOrder,
    PurchaseOrderCancel,
    PurchaseOrderCreate,
    PurchaseOrderLine,
    PurchaseOrderRef,
    Vendor,
    VendorCreate,
    VendorDeactivate,
    VendorMatch,
    VendorRef,
    VendorSearch,
)
from connectors.sql import IdempotencyRecord, SqlConnectorMixin

__all__ = ["AccountingConfig", "MockAccountingConnector"]


class AccountingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_url: str = Field(description="SQLAlchemy URL; the acct_* tables are created here")
    seed: str | None = Field(
        default=None, description="Fixtures directory loaded when the vendor table is empty"
    )


def _void(done: Done[Any, Bill]) -> BillVoid:
    return BillVoid(bill_id=done.result.id, reason=done.reason)


def _reverse(done: Done[JournalEntryCreate, JournalEntry]) -> JournalEntryRef:
    return JournalEntryRef(entry_id=done.result.id)


def _period(done: Done[PeriodRef, Period]) -> PeriodRef:
    return PeriodRef(period=done.result.period)


#: A bill is undone by voiding it: a posted one's entry is reversed, a draft's is dropped.
_VOID_BILL = Undo("void_bill", _void)


def _deactivate(done: Done[VendorCreate, Vendor]) -> VendorDeactivate:
    return VendorDeactivate(vendor_id=done.result.id, reason=done.reason)


def _cancel_po(done: Done[PurchaseOrderCreate, PurchaseOrder]) -> PurchaseOrderCancel:
    return PurchaseOrderCancel(number=done.result.number, reason=done.reason)


def _po_record(session: Session, po: AcctPurchaseOrder) -> PurchaseOrder:
    lines = session.exec(
        select(AcctPurchaseOrderLine)
        .where(AcctPurchaseOrderLine.po_number == po.number)
        .order_by(AcctPurchaseOrderLine.line_no)  # type: ignore[arg-type]
    ).all()
    return PurchaseOrder(
        number=po.number,
        vendor_id=po.vendor_id,
        currency=po.currency,
        status=po.status,  # type: ignore[arg-type]
        order_date=po.order_date,
        lines=[PurchaseOrderLine.model_validate(ln, from_attributes=True) for ln in lines],
        total=po.total,
    )


class MockAccountingConnector(SqlConnectorMixin, AccountingConnector):
    """Vendors, purchase orders, bills and a double-entry ledger, persisted in SQL."""

    name = "accounting"
    config_model = AccountingConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"vendor_master"})

    def __init__(
        self,
        config: dict[str, Any] | AccountingConfig,
        *,
        clock: Callable[[], dt.date] = dt.date.today,
        engine: Engine | None = None,
    ) -> None:
        self.config = AccountingConfig.model_validate(config)
        self._today = clock
        self.use_engine(self.config.database_url, engine)
        self._create_tables()
        if self.config.seed:
            seed_if_empty(self.engine, self.config.seed, today=clock())

    def _create_tables(self) -> None:
        """Create only this system's tables (and the shared idempotency ledger), if missing.

        Another process may create a table between the existence check and the CREATE; the
        loser gets "already exists", which is fine as long as the table is there.
        """
        for table in [*TABLES, IdempotencyRecord.__table__]:  # type: ignore[attr-defined]
            try:
                table.create(self.engine, checkfirst=True)
            except (OperationalError, ProgrammingError):
                if not inspect(self.engine).has_table(table.name):
                    raise
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Columns added since a database was created (nullable, so old rows stay valid):
        `acct_bills.withholding`. A concurrent opener may add it first, which is fine."""
        table = AcctBill.__table__  # type: ignore[attr-defined]

        def present() -> bool:
            return "withholding" in {
                c["name"] for c in inspect(self.engine).get_columns(table.name)
            }

        if present():
            return
        kind = table.c.withholding.type.compile(dialect=self.engine.dialect)
        try:
            with self.engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN withholding {kind}"))
        except (OperationalError, ProgrammingError):
            if not present():
                raise

    # Reads

    @action()
    async def get_vendor(self, request: VendorRef) -> Vendor:
        """One vendor from the vendor master."""
        with self.session() as session:
            return _vendors.vendor_record(_vendors.get_vendor_row(session, request.vendor_id))

    @action()
    async def search_vendors(self, request: VendorSearch) -> list[VendorMatch]:
        """Tax id and IBAN match exactly (score 100); names and aliases fuzzily (below 100)."""
        with self.session() as session:
            return _vendors.search(session, request)

    @action()
    async def get_purchase_order(self, request: PurchaseOrderRef) -> PurchaseOrder:
        """A purchase order with its lines, to match a bill against."""
        with self.session() as session:
            po = session.get(AcctPurchaseOrder, request.number)
            if po is None:
                raise NotFound(f"no purchase order {request.number!r}", number=request.number)
            return _po_record(session, po)

    @action()
    async def find_bills(self, request: BillSearch) -> list[Bill]:
        """Bills by vendor and/or invoice number (compared without spaces, dashes or case)."""
        with self.session() as session:
            return [_bills.bill_record(session, b) for b in _bills.find_bills(session, request)]

    @action()
    async def get_bill(self, request: BillRef) -> Bill:
        """One bill with its lines and the ids of its journal entries."""
        with self.session() as session:
            return _bills.bill_record(session, _bills.load_bill(session, request.bill_id))

    @action()
    async def get_journal_entry(self, request: JournalEntryRef) -> JournalEntry:
        """One journal entry with its lines, to check what a bill booked."""
        with self.session() as session:
            return _ledger.entry_record(*_ledger.load_entry(session, request.entry_id))

    @action()
    async def get_period(self, request: PeriodRef) -> Period:
        """Whether a month still takes postings; months never closed are open."""
        period = _ledger.parse_period(request.period)
        with self.session() as session:
            return Period(period=period, status=_ledger.period_status(session, period))  # type: ignore[arg-type]

    # Writes

    @action(side_effect=True, undo=_VOID_BILL)
    async def create_bill(self, request: BillCreate, *, idempotency_key: str) -> Bill:
        """Record a vendor invoice as a draft bill with its draft journal entry."""
        with self.session() as session:
            return _bills.bill_record(session, _bills.create_bill(session, request))

    @action(side_effect=True, undo=_VOID_BILL)
    async def post_bill(self, request: BillRef, *, idempotency_key: str) -> Bill:
        """Post a draft bill and its entry to the ledger (the bill becomes payable)."""
        with self.session() as session:
            bill = _bills.post_bill(session, _bills.load_bill(session, request.bill_id))
            return _bills.bill_record(session, bill)

    @action(
        side_effect=True,
        undo=Irreversible("a void bill stays void for the audit trail; create a new bill"),
    )
    async def void_bill(self, request: BillVoid, *, idempotency_key: str) -> Bill:
        """Void a bill; a posted bill's entry is cancelled by a reversing entry."""
        with self.session() as session:
            bill = _bills.load_bill(session, request.bill_id)
            bill = _bills.void_bill(session, bill, request.reason, today=self._today())
            return _bills.bill_record(session, bill)

    @action(side_effect=True, undo=Undo("reverse_journal_entry", _reverse))
    async def create_journal_entry(
        self, request: JournalEntryCreate, *, idempotency_key: str
    ) -> JournalEntry:
        """Post a manual journal entry; debits must equal credits."""
        with self.session() as session:
            _ledger.ensure_open(session, request.date, "the journal entry")
            entry = _ledger.insert_entry(
                session,
                date=request.date,
                currency=request.currency,
                memo=request.memo,
                lines=request.lines,
                status="posted",
                source=request.source,
            )
            return _ledger.entry_record(*_ledger.load_entry(session, entry.id))

    @action(
        side_effect=True,
        undo=Irreversible("a reversal is the correction; post a new entry to redo"),
    )
    async def reverse_journal_entry(
        self, request: JournalEntryRef, *, idempotency_key: str
    ) -> JournalEntry:
        """Cancel a posted manual entry with its mirror image; returns the reversing entry."""
        with self.session() as session:
            bill = _ledger.bill_for_entry(session, request.entry_id)
            if bill is not None:
                raise Rejected(
                    f"journal entry {request.entry_id} belongs to bill {bill.id}; void the bill",
                    code="invalid_state",
                )
            reversal = _ledger.reverse_entry(session, request.entry_id, today=self._today())
            return _ledger.entry_record(*_ledger.load_entry(session, reversal.id))

    @action(side_effect=True, undo=Undo("reopen_period", _period))
    async def close_period(self, request: PeriodRef, *, idempotency_key: str) -> Period:
        """Close a month: nothing can be booked into it afterwards."""
        return self._set_period(request, "closed")

    @action(side_effect=True, undo=Undo("close_period", _period))
    async def reopen_period(self, request: PeriodRef, *, idempotency_key: str) -> Period:
        """Reopen a closed month for corrections."""
        return self._set_period(request, "open")

    @action(side_effect=True, undo=Undo("deactivate_vendor", _deactivate))
    async def create_vendor(self, request: VendorCreate, *, idempotency_key: str) -> Vendor:
        """Add a vendor to the master; a tax id or IBAN already on file is refused."""
        with self.session() as session:
            return _master.create_vendor(session, request)

    @action(
        side_effect=True,
        undo=Irreversible("a removed or deactivated vendor is onboarded again with create_vendor"),
    )
    async def deactivate_vendor(self, request: VendorDeactivate, *, idempotency_key: str) -> Vendor:
        """Remove a vendor that has no bills or orders; deactivate one that has."""
        with self.session() as session:
            return _master.deactivate_vendor(session, request)

    @action(side_effect=True, undo=Undo("cancel_purchase_order", _cancel_po))
    async def create_purchase_order(
        self, request: PurchaseOrderCreate, *, idempotency_key: str
    ) -> PurchaseOrder:
        """Record an open purchase order for an active vendor (its total from its lines)."""
        with self.session() as session:
            return _po_record(session, _master.create_purchase_order(session, request))

    @action(
        side_effect=True,
        undo=Irreversible("a cancelled purchase order stays cancelled; create a new one"),
    )
    async def cancel_purchase_order(
        self, request: PurchaseOrderCancel, *, idempotency_key: str
    ) -> PurchaseOrder:
        """Cancel an open purchase order that no bill refers to."""
        with self.session() as session:
            return _po_record(session, _master.cancel_purchase_order(session, request))

    def _set_period(self, request: PeriodRef, status: str) -> Period:
        period = _ledger.parse_period(request.period)
        with self.session() as session:
            if _ledger.period_status(session, period) == status:
                raise Rejected(f"period {period} is already {status}", code="invalid_state")
            row = session.get(AcctPeriod, period) or AcctPeriod(period=period, status=status)
            row.status = status
            session.add(row)
            session.flush()
            return Period(period=period, status=status)  # type: ignore[arg-type]

    async def health(self) -> dict[str, Any]:
        """Row counts: an empty vendor table usually means the seed was not loaded."""
        with Session(self.engine) as session:

            def count(model: type[SQLModel], *where: Any) -> int:
                query = select(func.count()).select_from(model)
                return session.exec(query.where(*where) if where else query).one()

            return {
                "ok": True,
                "vendors": count(AcctVendor),
                "purchase_orders": count(AcctPurchaseOrder),
                "bills": count(AcctBill),
                "open_bills": count(AcctBill, AcctBill.status != "void"),
                "journal_entries": count(AcctJournalEntry),
                "closed_periods": count(AcctPeriod, AcctPeriod.status == "closed"),
            }
