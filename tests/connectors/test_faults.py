"""Fault injection (connectors/faults.py): what it deals, how it is configured, and that a call
whose reply was lost after it took effect acts once when it is made again with its key."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from connectors.accounting import MockAccountingConnector
from connectors.accounting.tables import AcctBill, AcctJournalEntry
from connectors.errors import ConnectorConfigError, RateLimited, TimedOut, Transient
from connectors.faults import FaultInjector, FaultPlan, inject_faults, load_fault_plan
from connectors.schemas import BillCreate, BillRef, Requester, TicketCreate, VendorSearch
from connectors.testing import new_key
from connectors.ticketing import MockTicketingConnector
from connectors.ticketing.tables import TktTicket

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'systems.db'}"


@pytest.fixture
def accounting(database_url: str) -> Iterator[MockAccountingConnector]:
    connector = MockAccountingConnector(
        {"database_url": database_url, "seed": str(FIXTURES / "accounting")}
    )
    yield connector
    connector.engine.dispose()


def bill_request(number: str = "FAULT-1") -> BillCreate:
    return BillCreate(
        vendor_id="V-1001",
        invoice_number=number,
        invoice_date=dt.date(2026, 3, 2),
        currency="EUR",
        subtotal=Decimal("100.00"),
        tax=Decimal("19.00"),
        total=Decimal("119.00"),
    )


def rows(connector: MockAccountingConnector | MockTicketingConnector, table: type) -> int:
    with Session(connector.engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"error_rate": 1.5}, "faults.error_rate: Input should be less than or equal to 1"),
        ({"eror_rate": 0.1}, "faults.eror_rate: Extra inputs are not permitted"),
        ({"error_rate": 0.6, "timeout_rate": 0.6}, "add up to more than 1"),
        ({"latency_ms": [20, 5]}, "low is above high"),
        ({"latency_ms": [-1, 5]}, "faults.latency_ms.0: Input should be greater than or equal"),
    ],
)
def test_a_plan_that_does_not_fit_is_refused_in_one_line(raw: dict[str, object], says: str) -> None:
    with pytest.raises(ConnectorConfigError) as refused:
        load_fault_plan("accounting", raw)
    message = str(refused.value)
    assert says in message and "\n" not in message
    assert message.startswith("connector 'accounting': ")
    assert 'BPA_CONNECTORS=\'{"accounting": {"faults": {' in message


def test_faults_for_an_action_the_connector_lacks_are_refused(
    accounting: MockAccountingConnector,
) -> None:
    with pytest.raises(ConnectorConfigError, match="no action 'create_invoice'; its actions: "):
        inject_faults(accounting, {"error_rate": 1, "actions": ["create_invoice"]})


# -- what is dealt ------------------------------------------------------------------------------


def test_the_same_seed_deals_the_same_faults_at_the_configured_rates() -> None:
    plan = FaultPlan(
        error_rate=0.05,
        timeout_rate=0.05,
        rate_limited_rate=0.05,
        crash_after_effect_rate=0.05,
        seed=11,
    )
    first, second = FaultInjector("crm", plan), FaultInjector("crm", plan)
    draws = [first.draw() for _ in range(4000)]
    assert draws == [second.draw() for _ in range(4000)]
    dealt = Counter(d for d in draws if d is not None)
    assert set(dealt) == {"error", "timeout", "rate_limited", "crash_after_effect"}
    assert 0.17 < sum(dealt.values()) / len(draws) < 0.23
    assert draws != [
        FaultInjector("crm", plan.model_copy(update={"seed": 12})).draw() for _ in draws
    ]


def test_an_outage_ends_after_max_faults() -> None:
    injector = FaultInjector("crm", FaultPlan(error_rate=1, max_faults=3))
    assert [injector.draw() for _ in range(5)] == ["error"] * 3 + [None, None]


async def test_errors_timeouts_and_429s_fail_before_the_system_is_reached(
    accounting: MockAccountingConnector,
) -> None:
    inject_faults(accounting, {"error_rate": 1, "actions": ["create_bill"]})
    with pytest.raises(Transient, match="503"):
        await accounting.create_bill(bill_request(), idempotency_key=new_key())
    assert fault_bills(accounting) == 0

    slow = MockAccountingConnector({"database_url": "sqlite://"})
    inject_faults(slow, {"timeout_rate": 1, "timeout_ms": 30, "latency_ms": [5, 5]})
    started = time.perf_counter()
    with pytest.raises(TimedOut):
        await slow.search_vendors(VendorSearch(name="Müller"))
    assert time.perf_counter() - started >= 0.035

    limited = MockAccountingConnector({"database_url": "sqlite://"})
    inject_faults(limited, {"rate_limited_rate": 1, "retry_after_s": 0.25})
    with pytest.raises(RateLimited) as refused:
        await limited.search_vendors(VendorSearch(name="Müller"))
    assert refused.value.retry_after == 0.25 and refused.value.code == "rate_limited"
    assert refused.value.retryable


async def test_a_bill_whose_reply_was_lost_is_booked_once_and_replayed_by_its_key(
    accounting: MockAccountingConnector, database_url: str
) -> None:
    entries_before = rows(accounting, AcctJournalEntry)
    injector = inject_faults(accounting, {"crash_after_effect_rate": 1})
    key = new_key("bill")
    for _ in range(3):  # the caller tries again with the same key; every reply is lost
        with pytest.raises(TimedOut, match="took effect"):
            await accounting.create_bill(bill_request(), idempotency_key=key)
    assert injector.injected["crash_after_effect"] == 3
    assert fault_bills(accounting) == 1
    assert rows(accounting, AcctJournalEntry) == entries_before + 1

    # Once a reply gets through, it is the first call's result, not a second bill.
    healthy = MockAccountingConnector({"database_url": database_url})
    bill = await healthy.create_bill(bill_request(), idempotency_key=key)
    assert (await healthy.get_bill(BillRef(bill_id=bill.id))).invoice_number == "FAULT-1"
    assert fault_bills(healthy) == 1
    assert rows(healthy, AcctJournalEntry) == entries_before + 1
    healthy.engine.dispose()


def fault_bills(connector: MockAccountingConnector) -> int:
    with Session(connector.engine) as session:
        query = select(func.count()).where(AcctBill.invoice_number == "FAULT-1")
        return int(session.exec(query).one())


async def test_a_ticket_whose_reply_was_lost_is_opened_once(database_url: str) -> None:
    ticketing = MockTicketingConnector({"database_url": database_url})
    inject_faults(ticketing, {"crash_after_effect_rate": 1, "actions": ["create_ticket"]})
    request = TicketCreate(
        subject="Where is my parcel?", requester=Requester(email="ava@example.com")
    )
    key = new_key("ticket")
    for _ in range(2):
        with pytest.raises(TimedOut):
            await ticketing.create_ticket(request, idempotency_key=key)
    assert rows(ticketing, TktTicket) == 1
    # A reply that gets through is the first ticket, not a second one.
    healthy = MockTicketingConnector({"database_url": database_url})
    ticket = await healthy.create_ticket(request, idempotency_key=key)
    assert rows(healthy, TktTicket) == 1 and ticket.subject == "Where is my parcel?"
    ticketing.engine.dispose()
    healthy.engine.dispose()
