"""The mocked accounting system's own tables (prefixed ``acct_``).

Money is stored exactly: ``NUMERIC(18, 2)`` where the database has a real decimal type and
text on SQLite, whose NUMERIC would round-trip through a float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, String, Table, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from connectors.sqltypes import MoneyType, UtcDateTime

__all__ = [
    "TABLES",
    "AcctBill",
    "AcctBillLine",
    "AcctJournalEntry",
    "AcctJournalLine",
    "AcctPeriod",
    "AcctPurchaseOrder",
    "AcctPurchaseOrderLine",
    "AcctVendor",
    "ExactDecimal",
]


class ExactDecimal(TypeDecorator[Decimal]):
    """A decimal kept exactly as given: quantities and unit prices may have any number of places."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AcctVendor(SQLModel, table=True):
    __tablename__ = "acct_vendors"

    id: str = Field(primary_key=True)
    name: str
    tax_id: str | None = None
    tax_id_key: str | None = Field(default=None, index=True, description="compacted for search")
    iban: str | None = None
    iban_key: str | None = Field(default=None, index=True, description="compacted for search")
    address: str | None = None
    country: str | None = None
    currency: str = "EUR"
    payment_terms_days: int = 30
    aliases_json: str = "[]"
    active: bool = True


class AcctPurchaseOrder(SQLModel, table=True):
    __tablename__ = "acct_purchase_orders"

    number: str = Field(primary_key=True)
    vendor_id: str = Field(foreign_key="acct_vendors.id", index=True)
    currency: str
    status: str = "open"
    order_date: dt.date
    total: Decimal = Field(sa_type=MoneyType)


class AcctPurchaseOrderLine(SQLModel, table=True):
    __tablename__ = "acct_purchase_order_lines"

    po_number: str = Field(foreign_key="acct_purchase_orders.number", primary_key=True)
    line_no: int = Field(primary_key=True)
    description: str
    quantity: Decimal = Field(sa_type=ExactDecimal)
    unit_price: Decimal = Field(sa_type=ExactDecimal)
    sku: str | None = None


class AcctJournalEntry(SQLModel, table=True):
    __tablename__ = "acct_journal_entries"

    id: str = Field(primary_key=True)
    date: dt.date = Field(index=True)
    currency: str
    memo: str
    status: str = Field(description="draft | posted | reversed")
    source: str | None = Field(default=None, index=True)
    reverses: str | None = Field(default=None, foreign_key="acct_journal_entries.id")
    created_at: dt.datetime = Field(default_factory=_now, sa_type=UtcDateTime)


class AcctJournalLine(SQLModel, table=True):
    __tablename__ = "acct_journal_lines"

    entry_id: str = Field(foreign_key="acct_journal_entries.id", primary_key=True)
    line_no: int = Field(primary_key=True)
    account: str = Field(index=True)
    debit: Decimal = Field(sa_type=MoneyType)
    credit: Decimal = Field(sa_type=MoneyType)
    memo: str | None = None


class AcctBill(SQLModel, table=True):
    """A vendor bill. One non-void bill per (vendor, invoice number), also in the database."""

    __tablename__ = "acct_bills"
    __table_args__ = (
        Index(
            "uq_acct_bills_vendor_invoice",
            "vendor_id",
            "invoice_key",
            unique=True,
            sqlite_where=text("status != 'void'"),
            postgresql_where=text("status != 'void'"),
        ),
    )

    id: str = Field(primary_key=True)
    vendor_id: str = Field(foreign_key="acct_vendors.id", index=True)
    invoice_number: str
    invoice_key: str = Field(description="invoice number compacted for duplicate checks")
    invoice_date: dt.date
    due_date: dt.date | None = None
    currency: str
    subtotal: Decimal = Field(sa_type=MoneyType)
    tax: Decimal = Field(sa_type=MoneyType)
    #: income tax withheld for the tax office; NULL in databases from before it existed
    withholding: Decimal | None = Field(default=None, sa_type=MoneyType)
    total: Decimal = Field(sa_type=MoneyType)
    po_number: str | None = Field(default=None, foreign_key="acct_purchase_orders.number")
    memo: str | None = None
    expense_account: str = "6000"
    status: str = Field(description="draft | posted | void")
    void_reason: str | None = None
    journal_entry_id: str | None = Field(default=None, foreign_key="acct_journal_entries.id")
    reversal_entry_id: str | None = Field(default=None, foreign_key="acct_journal_entries.id")
    created_at: dt.datetime = Field(default_factory=_now, sa_type=UtcDateTime)


class AcctBillLine(SQLModel, table=True):
    __tablename__ = "acct_bill_lines"

    bill_id: str = Field(foreign_key="acct_bills.id", primary_key=True)
    line_no: int = Field(primary_key=True)
    description: str
    quantity: Decimal = Field(sa_type=ExactDecimal)
    unit_price: Decimal = Field(sa_type=ExactDecimal)
    amount: Decimal = Field(sa_type=MoneyType)


class AcctPeriod(SQLModel, table=True):
    """An accounting period that has been closed or reopened; periods not listed are open."""

    __tablename__ = "acct_periods"

    period: str = Field(primary_key=True, description="YYYY-MM")
    status: str = Field(description="open | closed")


TABLES: list[Table] = [
    model.__table__  # type: ignore[union-attr]
    for model in (
        AcctVendor,
        AcctPurchaseOrder,
        AcctPurchaseOrderLine,
        AcctJournalEntry,
        AcctJournalLine,
        AcctBill,
        AcctBillLine,
        AcctPeriod,
    )
]
