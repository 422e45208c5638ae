"""Accounts payable: a bill and its journal entry move through draft, posted and void together.

A bill books expense (net) and input VAT against accounts payable (gross):

    debit  <expense account>   subtotal
    debit  2400 VAT input      tax
    credit 1600 accounts payable   total
    credit 2450 withholding tax payable   withholding (IRPF, ritenuta d'acconto), if any

With income tax withheld, the vendor is owed the total (subtotal + tax - withholding) and the
tax office the withholding.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from connectors.accounting import _ledger
from connectors.accounting._vendors import compact_id, get_vendor_row
from connectors.accounting.tables import (
    AcctBill,
    AcctBillLine,
    AcctJournalEntry,
    AcctJournalLine,
    AcctPurchaseOrder,
)
from connectors.errors import Conflict, NotFound, Rejected
from connectors.schemas import Bill, BillCreate, BillLine, BillSearch, JournalLine

__all__ = [
    "AP_ACCOUNT",
    "VAT_INPUT_ACCOUNT",
    "WITHHOLDING_ACCOUNT",
    "bill_record",
    "create_bill",
    "find_bills",
    "load_bill",
    "post_bill",
    "void_bill",
]

AP_ACCOUNT = "1600"
VAT_INPUT_ACCOUNT = "2400"
WITHHOLDING_ACCOUNT = "2450"


def invoice_key(invoice_number: str) -> str:
    """Invoice numbers compared the way an AP clerk would: "inv 2024/001" = "INV-2024-001"."""
    return compact_id(invoice_number) or invoice_number


def load_bill(session: Session, bill_id: str) -> AcctBill:
    bill = session.get(AcctBill, bill_id)
    if bill is None:
        raise NotFound(f"no bill {bill_id!r}", bill_id=bill_id)
    return bill


def bill_record(session: Session, bill: AcctBill) -> Bill:
    lines = session.exec(
        select(AcctBillLine).where(AcctBillLine.bill_id == bill.id).order_by(AcctBillLine.line_no)  # type: ignore[arg-type]
    ).all()
    return Bill(
        id=bill.id,
        vendor_id=bill.vendor_id,
        invoice_number=bill.invoice_number,
        invoice_date=bill.invoice_date,
        due_date=bill.due_date,
        currency=bill.currency,
        subtotal=bill.subtotal,
        tax=bill.tax,
        withholding=bill.withholding or Decimal(0),
        total=bill.total,
        po_number=bill.po_number,
        status=bill.status,  # type: ignore[arg-type]
        journal_entry_id=bill.journal_entry_id,
        reversal_entry_id=bill.reversal_entry_id,
        lines=[
            BillLine(
                description=ln.description,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                amount=ln.amount,
            )
            for ln in lines
        ],
        created_at=bill.created_at,
    )


def _check_amounts(
    request: BillCreate,
) -> tuple[Decimal, Decimal, Decimal, Decimal, list[Decimal]]:
    """(subtotal, tax, withholding, total, line amounts), each to the cent, once they add up."""
    subtotal = _ledger.money(request.subtotal, "subtotal")
    tax = _ledger.money(request.tax, "tax")
    withheld = _ledger.money(request.withholding, "withholding")
    total = _ledger.money(request.total, "total")
    if total == 0:
        raise Rejected("a bill must be for more than zero", code="invalid_amount")
    if withheld < 0 or withheld > subtotal:
        raise Rejected(
            f"withholding {withheld} must be between 0 and the subtotal {subtotal}",
            code="invalid_amount",
        )
    if subtotal + tax - withheld != total:
        less = f" - withholding {withheld}" if withheld else ""
        raise Rejected(
            f"subtotal {subtotal} + tax {tax}{less} is {subtotal + tax - withheld}, "
            f"not the total {total}",
            code="unbalanced",
        )
    amounts = [
        _ledger.money(ln.amount, f"line {no} amount") for no, ln in enumerate(request.lines, 1)
    ]
    if amounts and sum(amounts, Decimal(0)) != subtotal:
        raise Rejected(
            f"the lines add up to {sum(amounts, Decimal(0))}, not the subtotal {subtotal}",
            code="unbalanced",
        )
    return subtotal, tax, withheld, total, amounts


def create_bill(
    session: Session, request: BillCreate, *, check_period: bool = True, bill_id: str | None = None
) -> AcctBill:
    """Write a draft bill and its draft journal entry, refusing what a real AP system would."""
    vendor = get_vendor_row(session, request.vendor_id)
    if not vendor.active:
        raise Rejected(f"vendor {vendor.id} is blocked for new bills", code="vendor_inactive")
    currency = _ledger.currency_code(request.currency)
    subtotal, tax, withheld, total, amounts = _check_amounts(request)
    due_date = request.due_date or request.invoice_date + dt.timedelta(
        days=vendor.payment_terms_days
    )
    if due_date < request.invoice_date:
        raise Rejected("the due date is before the invoice date", code="invalid_request")
    if check_period:
        _ledger.ensure_open(session, request.invoice_date, f"invoice {request.invoice_number}")
    if request.po_number is not None:
        po = session.get(AcctPurchaseOrder, request.po_number)
        if po is None:
            raise NotFound(
                f"no purchase order {request.po_number!r}", code="unknown_purchase_order"
            )
        if po.vendor_id != vendor.id:
            raise Rejected(
                f"purchase order {po.number} belongs to vendor {po.vendor_id}, not {vendor.id}",
                code="po_vendor_mismatch",
            )
    key = invoice_key(request.invoice_number)
    existing = session.exec(
        select(AcctBill).where(
            AcctBill.vendor_id == vendor.id, AcctBill.invoice_key == key, AcctBill.status != "void"
        )
    ).first()
    if existing is not None:
        raise _duplicate(vendor.id, request.invoice_number, existing.id)

    bill_id = bill_id or _ledger.new_id("BILL")
    entry_lines = [
        JournalLine(account=request.expense_account, debit=subtotal, memo="Expense"),
        JournalLine(account=VAT_INPUT_ACCOUNT, debit=tax, memo="VAT input"),
        JournalLine(account=AP_ACCOUNT, credit=total, memo=f"Accounts payable: {vendor.name}"),
        JournalLine(account=WITHHOLDING_ACCOUNT, credit=withheld, memo="Withholding tax payable"),
    ]
    entry = _ledger.insert_entry(
        session,
        date=request.invoice_date,
        currency=currency,
        memo=f"Bill {request.invoice_number} from {vendor.name}",
        lines=[ln for ln in entry_lines if ln.debit or ln.credit],
        status="draft",
        source=f"bill:{bill_id}",
    )
    bill = AcctBill(
        id=bill_id,
        vendor_id=vendor.id,
        invoice_number=request.invoice_number,
        invoice_key=key,
        invoice_date=request.invoice_date,
        due_date=due_date,
        currency=currency,
        subtotal=subtotal,
        tax=tax,
        withholding=withheld,
        total=total,
        po_number=request.po_number,
        memo=request.memo,
        expense_account=request.expense_account,
        status="draft",
        journal_entry_id=entry.id,
    )
    session.add(bill)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent writer took the invoice number first
        if "invoice_key" not in str(exc.orig) and "uq_acct_bills" not in str(exc.orig):
            raise
        # the failed flush expired the ORM objects: use only the request from here on
        raise _duplicate(request.vendor_id, request.invoice_number, None) from exc
    for no, (line, amount) in enumerate(zip(request.lines, amounts, strict=True), start=1):
        session.add(
            AcctBillLine(
                bill_id=bill.id,
                line_no=no,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=amount,
            )
        )
    session.flush()
    return bill


def _duplicate(vendor_id: str, invoice_number: str, existing_id: str | None) -> Conflict:
    return Conflict(
        f"vendor {vendor_id} already has a bill for invoice {invoice_number}",
        code="duplicate_invoice",
        existing_bill_id=existing_id,
    )


def post_bill(session: Session, bill: AcctBill) -> AcctBill:
    if bill.status != "draft":
        raise Rejected(f"bill {bill.id} is {bill.status}; only drafts post", code="invalid_state")
    _ledger.ensure_open(session, bill.invoice_date, f"bill {bill.id}")
    if bill.journal_entry_id is not None:
        entry = session.get(AcctJournalEntry, bill.journal_entry_id)
        if entry is not None:
            entry.status = "posted"
            session.add(entry)
    bill.status = "posted"
    session.add(bill)
    session.flush()
    return bill


def void_bill(session: Session, bill: AcctBill, reason: str, *, today: dt.date) -> AcctBill:
    """Void a bill: a posted one is reversed by a reversing entry, a draft's entry is dropped."""
    if bill.status == "void":
        raise Rejected(f"bill {bill.id} is already void", code="invalid_state")
    if bill.status == "posted" and bill.journal_entry_id is not None:
        reversal = _ledger.reverse_entry(session, bill.journal_entry_id, today=today)
        bill.reversal_entry_id = reversal.id
    elif bill.journal_entry_id is not None:
        draft_id = bill.journal_entry_id
        bill.journal_entry_id = None
        session.add(bill)
        session.flush()
        session.execute(delete(AcctJournalLine).where(col(AcctJournalLine.entry_id) == draft_id))
        session.execute(delete(AcctJournalEntry).where(col(AcctJournalEntry.id) == draft_id))
    bill.status = "void"
    bill.void_reason = reason
    session.add(bill)
    session.flush()
    return bill


def find_bills(session: Session, request: BillSearch) -> list[AcctBill]:
    query = select(AcctBill)
    if request.vendor_id is not None:
        query = query.where(AcctBill.vendor_id == request.vendor_id)
    if request.invoice_number is not None:
        query = query.where(AcctBill.invoice_key == invoice_key(request.invoice_number))
    if not request.include_void:
        query = query.where(AcctBill.status != "void")
    return list(
        session.exec(query.order_by(AcctBill.invoice_date, AcctBill.created_at)).all()  # type: ignore[arg-type]
    )
