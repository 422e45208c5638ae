"""The general ledger's rules: exact money, periods, and balanced double-entry journal entries.

Every journal entry, whether from a bill, a manual posting, a reversal or the seed data,
is written by `insert_entry`, so "debits equal credits" holds for all of them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, select

from connectors.accounting.tables import (
    AcctBill,
    AcctJournalEntry,
    AcctJournalLine,
    AcctPeriod,
)
from connectors.errors import NotFound, Rejected
from connectors.schemas import JournalEntry, JournalLine
from connectors.sqltypes import CENT

__all__ = [
    "bill_for_entry",
    "currency_code",
    "ensure_open",
    "entry_record",
    "insert_entry",
    "load_entry",
    "money",
    "new_id",
    "parse_period",
    "period_of",
    "period_status",
    "reverse_entry",
]

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"


def money(value: Decimal, field: str) -> Decimal:
    """The amount with two places; refuses fractions of a cent and negative amounts."""
    try:
        amount = Decimal(value)
        exact = amount.quantize(CENT)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise Rejected(f"{field} is not an amount: {value!r}", code="invalid_amount") from exc
    if exact != amount:
        raise Rejected(f"{field} has fractions of a cent: {value}", code="invalid_amount")
    if exact < 0:
        raise Rejected(f"{field} must not be negative: {value}", code="invalid_amount")
    return exact


def currency_code(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise Rejected(f"currency must be an ISO 4217 code, got {value!r}", code="invalid_request")
    return code


def period_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(period: str) -> str:
    match = _PERIOD.match(period)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise Rejected(f"period must be YYYY-MM, got {period!r}", code="invalid_request")
    return period


def period_status(session: Session, period: str) -> str:
    """Periods are open until closed; only closed (or reopened) ones have a row."""
    row = session.get(AcctPeriod, period)
    return row.status if row is not None else "open"


def ensure_open(session: Session, day: dt.date, what: str) -> None:
    period = period_of(day)
    if period_status(session, period) == "closed":
        raise Rejected(
            f"{what} is dated {day.isoformat()}, in closed period {period}",
            code="period_closed",
            period=period,
        )


def insert_entry(
    session: Session,
    *,
    date: dt.date,
    currency: str,
    memo: str,
    lines: list[JournalLine],
    status: str,
    source: str | None = None,
    reverses: str | None = None,
) -> AcctJournalEntry:
    """Write a journal entry after checking it balances; the one way entries are created."""
    if len(lines) < 2:
        raise Rejected("a journal entry needs at least two lines", code="unbalanced")
    checked: list[JournalLine] = []
    for no, line in enumerate(lines, start=1):
        debit = money(line.debit, f"line {no} debit")
        credit = money(line.credit, f"line {no} credit")
        if (debit > 0) == (credit > 0):
            raise Rejected(
                f"line {no} must have either a debit or a credit", code="invalid_request"
            )
        if not line.account.strip():
            raise Rejected(f"line {no} has no account", code="invalid_request")
        checked.append(
            JournalLine(account=line.account.strip(), debit=debit, credit=credit, memo=line.memo)
        )
    debits = sum((line.debit for line in checked), Decimal(0))
    credits = sum((line.credit for line in checked), Decimal(0))
    if debits != credits:
        raise Rejected(
            f"debits {debits} do not equal credits {credits}",
            code="unbalanced",
            debits=str(debits),
            credits=str(credits),
        )
    entry = AcctJournalEntry(
        id=new_id("JE"),
        date=date,
        currency=currency_code(currency),
        memo=memo,
        status=status,
        source=source,
        reverses=reverses,
    )
    session.add(entry)
    session.flush()
    for no, line in enumerate(checked, start=1):
        session.add(
            AcctJournalLine(
                entry_id=entry.id,
                line_no=no,
                account=line.account,
                debit=line.debit,
                credit=line.credit,
                memo=line.memo,
            )
        )
    session.flush()
    return entry


def load_entry(session: Session, entry_id: str) -> tuple[AcctJournalEntry, list[AcctJournalLine]]:
    entry = session.get(AcctJournalEntry, entry_id)
    if entry is None:
        raise NotFound(f"no journal entry {entry_id!r}", entry_id=entry_id)
    lines = session.exec(
        select(AcctJournalLine)
        .where(AcctJournalLine.entry_id == entry_id)
        .order_by(AcctJournalLine.line_no)  # type: ignore[arg-type]
    ).all()
    return entry, list(lines)


def entry_record(entry: AcctJournalEntry, lines: list[AcctJournalLine]) -> JournalEntry:
    return JournalEntry(
        id=entry.id,
        date=entry.date,
        currency=entry.currency,
        memo=entry.memo,
        lines=[
            JournalLine(account=ln.account, debit=ln.debit, credit=ln.credit, memo=ln.memo)
            for ln in lines
        ],
        status=entry.status,  # type: ignore[arg-type]
        source=entry.source,
        reverses=entry.reverses,
    )


def reverse_entry(session: Session, entry_id: str, *, today: dt.date) -> AcctJournalEntry:
    """Post the mirror image of a posted entry and mark the original reversed.

    The reversal keeps the original date while its period is open, and is dated today
    once that period is closed (the books of a closed month stay as they were).
    """
    entry, lines = load_entry(session, entry_id)
    if entry.status != "posted":
        raise Rejected(
            f"journal entry {entry_id} is {entry.status}; only posted entries can be reversed",
            code="invalid_state",
        )
    if entry.reverses is not None:
        raise Rejected(f"journal entry {entry_id} is itself a reversal", code="invalid_state")
    date = entry.date if period_status(session, period_of(entry.date)) == "open" else today
    ensure_open(session, date, f"the reversal of {entry_id}")
    reversal = insert_entry(
        session,
        date=date,
        currency=entry.currency,
        memo=f"Reversal of {entry.id}: {entry.memo}",
        lines=[
            JournalLine(account=ln.account, debit=ln.credit, credit=ln.debit, memo=ln.memo)
            for ln in lines
        ],
        status="posted",
        source=entry.source,
        reverses=entry.id,
    )
    entry.status = "reversed"
    session.add(entry)
    session.flush()
    return reversal


def bill_for_entry(session: Session, entry_id: str) -> AcctBill | None:
    return session.exec(select(AcctBill).where(AcctBill.journal_entry_id == entry_id)).first()
