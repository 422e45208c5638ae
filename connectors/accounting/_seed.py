"""Load the mocked accounting system from a fixtures directory, once.

Files (each a JSON list; a missing file is an empty list): ``vendors.json`` (`Vendor`),
``purchase_orders.json`` (`PurchaseOrder`), ``bills.json`` (`BillCreate` fields, plus an
optional ``id`` and ``status``: posted by default) and ``periods.json`` (`Period`).

Seed bills go through the same checks as `create_bill` (a broken fixture fails loudly
here, not later in a flow), except the closed-period check: periods are loaded last, so
history may sit in months that are closed today.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from connectors.accounting import _bills
from connectors.accounting._ledger import parse_period
from connectors.accounting._vendors import vendor_row
from connectors.accounting.tables import (
    AcctPeriod,
    AcctPurchaseOrder,
    AcctPurchaseOrderLine,
    AcctVendor,
)
from connectors.errors import ConnectorError
from connectors.schemas import BillCreate, Period, PurchaseOrder, Vendor

__all__ = ["SeedBill", "SeedError", "seed_if_empty"]

M = TypeVar("M", bound=BaseModel)


class SeedError(ValueError):
    """The fixtures directory holds data the accounting system would refuse."""


class SeedBill(BillCreate):
    id: str | None = None
    status: Literal["draft", "posted", "void"] = "posted"
    void_reason: str = "voided in the seed data"


def _read(directory: Path, filename: str, model: type[M]) -> list[M]:
    path = directory / filename
    if not path.exists():
        return []
    try:
        return TypeAdapter(list[model]).validate_json(path.read_bytes())  # type: ignore[valid-type]
    except ValueError as exc:
        raise SeedError(f"{path}: {exc}") from exc


def _vendor_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AcctVendor)).one()


def seed_if_empty(engine: Engine, directory: str | Path, *, today: dt.date) -> bool:
    """Seed when the vendor table is empty; True if this call did the seeding.

    Safe to run from two processes at once: the loser's inserts collide on primary keys,
    it rolls back and finds the winner's data.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise SeedError(f"seed directory {directory} does not exist")
    with Session(engine, expire_on_commit=False) as session:
        if _vendor_count(session):
            return False
        try:
            _load(session, directory, today)
            session.commit()
        except (IntegrityError, OperationalError):
            session.rollback()
            if _vendor_count(session):
                return False
            raise
    return True


def _load(session: Session, directory: Path, today: dt.date) -> None:
    vendors = _read(directory, "vendors.json", Vendor)
    for vendor in vendors:
        session.add(vendor_row(vendor))
    session.flush()
    vendor_ids = {vendor.id for vendor in vendors}

    for po in _read(directory, "purchase_orders.json", PurchaseOrder):
        if po.vendor_id not in vendor_ids:
            raise SeedError(f"purchase order {po.number}: unknown vendor {po.vendor_id}")
        session.add(
            AcctPurchaseOrder(
                number=po.number,
                vendor_id=po.vendor_id,
                currency=po.currency.upper(),
                status=po.status,
                order_date=po.order_date,
                total=po.total,
            )
        )
        session.flush()
        for line in po.lines:
            session.add(AcctPurchaseOrderLine(po_number=po.number, **line.model_dump()))
    session.flush()

    for index, seed in enumerate(_read(directory, "bills.json", SeedBill)):
        try:
            bill = _bills.create_bill(session, seed, check_period=False, bill_id=seed.id)
            if seed.status in ("posted", "void"):
                bill = _bills.post_bill(session, bill)
            if seed.status == "void":
                _bills.void_bill(session, bill, seed.void_reason, today=today)
        except ConnectorError as exc:
            raise SeedError(
                f"bills.json[{index}] ({seed.invoice_number}): {exc.code}: {exc.message}"
            ) from exc

    for period in _read(directory, "periods.json", Period):
        session.add(AcctPeriod(period=parse_period(period.period), status=period.status))
    session.flush()
