"""The retail data back in tau-bench's shapes, as plain JSON, for comparing end states.

Amounts are exact strings with two places (gift card balances included); timestamps,
versions and the activity log are left out, since they differ between two runs that took
the same actions.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from connectors.crm._retail_records import customer_record, order_records
from connectors.crm._retail_tables import CrmCustomer, CrmOrder

__all__ = ["export"]


def export(session: Session) -> dict[str, Any]:
    users: dict[str, Any] = {}
    for row in session.exec(select(CrmCustomer).order_by(col(CrmCustomer.id))).all():
        customer = customer_record(session, row)
        users[customer.id] = {
            "name": {"first_name": customer.first_name, "last_name": customer.last_name},
            "address": customer.address.model_dump(),
            "email": customer.email,
            "payment_methods": {
                m.id: m.model_dump(mode="json", exclude_none=True) for m in customer.payment_methods
            },
            "orders": customer.order_ids,
        }
    rows = session.exec(select(CrmOrder).order_by(col(CrmOrder.id))).all()
    orders = {
        order.id: order.model_dump(mode="json", exclude={"total"})
        for order in order_records(session, rows)
    }
    return {"users": users, "orders": orders}
