"""The mocked accounting system: the shared conformance suite, then what is special to the mock."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from connectors.accounting import MockAccountingConnector
from connectors.accounting._seed import SeedError
from connectors.accounting.tables import AcctBill, AcctJournalLine
from connectors.errors import Conflict, NotFound, Rejected
from connectors.schemas import (
    BillCreate,
    BillRef,
    BillSearch,
    BillVoid,
    JournalEntryRef,
    PeriodRef,
    PurchaseOrderRef,
    VendorSearch,
)
from connectors.testing import AccountingConnectorTests, new_key

SHIPPED_SEED = Path(__file__).resolve().parents[2] / "fixtures" / "accounting"

VENDORS = [
    {
        "id": "V-1001",
        "name": "ACME Gmbh",
        "tax_id": "DE123456789",
        "iban": "DE89370400440532013000",
        "address": "Industriestr. 1, 10115 Berlin",
        "country": "DE",
        "payment_terms_days": 14,
        "aliases": ["Acme Deutschland"],
    },
    {"id": "V-1002", "name": "Acme Logistics AG", "tax_id": "CHE-123.456.788", "country": "CH"},
    {"id": "V-1003", "name": "Globex Corporation", "tax_id": "GB999999973", "currency": "GBP"},
    {"id": "V-1004", "name": "Initech Ltd", "tax_id": "GB123456782", "active": False},
]
PURCHASE_ORDERS = [
    {
        "number": "PO-5001",
        "vendor_id": "V-1001",
        "currency": "EUR",
        "order_date": "2024-01-05",
        "lines": [
            {"line_no": 1, "description": "Widgets", "quantity": "4", "unit_price": "15.00"},
            {"line_no": 2, "description": "Bolts", "quantity": "1000", "unit_price": "0.125"},
        ],
        "total": "185.00",
    }
]
BILLS = [
    {
        "vendor_id": "V-1001",
        "invoice_number": "INV-2024-001",
        "invoice_date": "2024-01-10",
        "currency": "EUR",
        "subtotal": "185.00",
        "tax": "35.15",
        "total": "220.15",
        "po_number": "PO-5001",
    },
    {
        "id": "BILL-SEEDVOID",
        "status": "void",
        "vendor_id": "V-1003",
        "invoice_number": "G-77",
        "invoice_date": "2024-02-01",
        "currency": "GBP",
        "subtotal": "10.00",
        "total": "10.00",
    },
]
PERIODS = [{"period": "2024-01", "status": "closed"}, {"period": "2024-02", "status": "open"}]


def write_seed(directory: Path, **overrides: list[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "vendors": VENDORS,
        "purchase_orders": PURCHASE_ORDERS,
        "bills": BILLS,
        "periods": PERIODS,
    }
    for name, rows in {**files, **overrides}.items():
        (directory / f"{name}.json").write_text(json.dumps(rows))
    return directory


class TestMockAccounting(AccountingConnectorTests):
    connector_class = MockAccountingConnector
    vendor_id = "V-1001"
    closed_period = "2024-01"

    @pytest.fixture
    def connector_config(self, tmp_path: Path) -> dict[str, Any]:
        return {
            "database_url": f"sqlite:///{tmp_path / 'acct.db'}",
            "seed": str(write_seed(tmp_path / "seed")),
        }


def _first_vendor_with_tax_id() -> str | None:
    path = SHIPPED_SEED / "vendors.json"
    if not path.exists():
        return None
    vendors = json.loads(path.read_text())
    return next((v["id"] for v in vendors if v.get("tax_id") and v.get("active", True)), None)


@pytest.mark.skipif(_first_vendor_with_tax_id() is None, reason="fixtures/accounting not there")
class TestMockAccountingOnShippedFixtures(AccountingConnectorTests):
    """The same contract on the repository's seed data (which must load without errors)."""

    connector_class = MockAccountingConnector
    config: ClassVar[dict[str, Any]] = {
        "database_url": "sqlite:///{tmp_path}/acct.db",
        "seed": str(SHIPPED_SEED),
    }
    vendor_id = _first_vendor_with_tax_id()


# What is special to the mock


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    return write_seed(tmp_path / "seed")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'acct.db'}"


@pytest.fixture
def acct(db_url: str, seed_dir: Path) -> MockAccountingConnector:
    return MockAccountingConnector(
        {"database_url": db_url, "seed": str(seed_dir)}, clock=lambda: dt.date(2024, 3, 20)
    )


def bill(**changes: Any) -> BillCreate:
    fields: dict[str, Any] = {
        "vendor_id": "V-1001",
        "invoice_number": "INV-2024-0099",
        "invoice_date": dt.date(2024, 2, 12),
        "currency": "EUR",
        "subtotal": Decimal("100.00"),
        "tax": Decimal("19.00"),
        "total": Decimal("119.00"),
    }
    return BillCreate(**{**fields, **changes})


async def test_data_survives_a_new_connector_on_the_same_database(
    db_url: str, seed_dir: Path
) -> None:
    first = MockAccountingConnector({"database_url": db_url, "seed": str(seed_dir)})
    created = await first.create_bill(bill(), idempotency_key="k-persist")
    await first.aclose()

    second = MockAccountingConnector({"database_url": db_url, "seed": str(seed_dir)})
    assert await second.get_bill(BillRef(bill_id=created.id)) == created
    assert await second.create_bill(bill(), idempotency_key="k-persist") == created
    assert len(await second.find_bills(BillSearch(vendor_id="V-1001"))) == 2
    await second.aclose()


async def test_seeding_twice_or_concurrently_loads_the_data_once(
    db_url: str, seed_dir: Path
) -> None:
    config = {"database_url": db_url, "seed": str(seed_dir)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        connectors = list(pool.map(lambda _: MockAccountingConnector(config), range(4)))
    connectors.append(MockAccountingConnector(config))
    health = await connectors[-1].health()
    assert (health["vendors"], health["purchase_orders"], health["bills"]) == (4, 1, 2)
    # the seeded posted bill has one entry; the seeded void one was posted and reversed
    assert health["journal_entries"] == 3
    for connector in connectors:
        await connector.aclose()


async def test_every_journal_entry_balances(acct: MockAccountingConnector) -> None:
    created = await acct.create_bill(bill(), idempotency_key="k1")
    await acct.post_bill(BillRef(bill_id=created.id), idempotency_key="k2")
    await acct.void_bill(BillVoid(bill_id=created.id, reason="test"), idempotency_key="k3")
    with Session(acct.engine) as session:
        lines = session.exec(select(AcctJournalLine)).all()
    per_entry: dict[str, Decimal] = {}
    for line in lines:
        per_entry[line.entry_id] = (
            per_entry.get(line.entry_id, Decimal(0)) + line.debit - line.credit
        )
    assert len(per_entry) == 5
    assert set(per_entry.values()) == {Decimal(0)}


async def test_income_tax_withheld_is_owed_to_the_tax_office_not_the_vendor(
    acct: MockAccountingConnector,
) -> None:
    # a Spanish freelancer's invoice: base 1,000.00 + IVA 21 % - IRPF 15 % = 1,060.00 to pay
    withheld = bill(
        subtotal=Decimal("1000.00"),
        tax=Decimal("210.00"),
        withholding=Decimal("150.00"),
        total=Decimal("1060.00"),
    )
    created = await acct.create_bill(withheld, idempotency_key="k-irpf")
    assert (created.withholding, created.total) == (Decimal("150.00"), Decimal("1060.00"))
    with Session(acct.engine) as session:
        lines = session.exec(
            select(AcctJournalLine).where(AcctJournalLine.entry_id == created.journal_entry_id)
        ).all()
    credits = {line.account: line.credit for line in lines if line.credit}
    debits = {line.account: line.debit for line in lines if line.debit}
    assert credits == {"1600": Decimal("1060.00"), "2450": Decimal("150.00")}
    assert debits == {"6000": Decimal("1000.00"), "2400": Decimal("210.00")}
    # without withholding there is no line for it
    plain = await acct.create_bill(bill(invoice_number="INV-2"), idempotency_key="k-plain")
    assert plain.withholding == 0


async def test_a_database_from_before_withholding_gets_the_column(
    db_url: str, seed_dir: Path
) -> None:
    from sqlalchemy import create_engine, text

    first = MockAccountingConnector({"database_url": db_url, "seed": str(seed_dir)})
    await first.aclose()
    engine = create_engine(db_url)
    with engine.begin() as conn:  # what an older version created
        conn.execute(text("ALTER TABLE acct_bills DROP COLUMN withholding"))
    engine.dispose()
    again = MockAccountingConnector({"database_url": db_url, "seed": str(seed_dir)})
    old = await again.find_bills(BillSearch(vendor_id="V-1001"))
    assert [b.withholding for b in old] == [Decimal(0)]
    created = await again.create_bill(
        bill(subtotal=Decimal("100.00"), withholding=Decimal("15.00"), total=Decimal("104.00")),
        idempotency_key="k-after-upgrade",
    )
    assert (await again.get_bill(BillRef(bill_id=created.id))).withholding == Decimal("15.00")
    await again.aclose()


async def test_fuzzy_search_finds_a_vendor_written_differently(
    acct: MockAccountingConnector,
) -> None:
    found = await acct.search_vendors(VendorSearch(name="Acme GmbH"))
    assert found[0].vendor.name == "ACME Gmbh"
    assert found[0].matched_on == "name" and 90 <= found[0].score < 100
    assert "V-1003" not in [m.vendor.id for m in found]
    by_alias = await acct.search_vendors(VendorSearch(name="acme deutschland"))
    assert (by_alias[0].vendor.id, by_alias[0].matched_on) == ("V-1001", "alias")


async def test_identifiers_match_however_they_are_printed(acct: MockAccountingConnector) -> None:
    by_iban = await acct.search_vendors(VendorSearch(iban="de89 3704 0044 0532 0130 00"))
    assert [(m.vendor.id, m.matched_on, m.score) for m in by_iban] == [("V-1001", "iban", 100)]
    by_uid = await acct.search_vendors(VendorSearch(tax_id="CHE 123 456 788"))
    assert by_uid[0].vendor.id == "V-1002"
    assert by_uid[0].vendor.tax_id == "CHE-123.456.788"  # as registered
    both = await acct.search_vendors(VendorSearch(tax_id="DE123456789", name="Acme"))
    assert both[0].matched_on == "tax_id" and len({m.vendor.id for m in both}) == len(both)


async def test_seeded_history_is_posted_and_blocks_its_invoice_number(
    acct: MockAccountingConnector,
) -> None:
    (seeded,) = await acct.find_bills(BillSearch(invoice_number="inv 2024 001"))
    assert seeded.status == "posted" and seeded.po_number == "PO-5001"
    assert (await acct.get_period(PeriodRef(period="2024-01"))).status == "closed"
    with pytest.raises(Conflict) as refused:
        await acct.create_bill(
            bill(invoice_number="INV 2024/001", invoice_date=dt.date(2024, 2, 1)),
            idempotency_key="k-dup",
        )
    assert refused.value.code == "duplicate_invoice"
    assert refused.value.details["existing_bill_id"] == seeded.id
    void = await acct.get_bill(BillRef(bill_id="BILL-SEEDVOID"))
    assert void.status == "void" and void.reversal_entry_id is not None


async def test_purchase_orders_keep_exact_unit_prices(acct: MockAccountingConnector) -> None:
    po = await acct.get_purchase_order(PurchaseOrderRef(number="PO-5001"))
    assert [line.unit_price for line in po.lines] == [Decimal("15.00"), Decimal("0.125")]
    assert po.total == Decimal("185.00")
    with pytest.raises(NotFound):
        await acct.get_purchase_order(PurchaseOrderRef(number="PO-0000"))


@pytest.mark.parametrize(
    ("changes", "error", "code"),
    [
        ({"vendor_id": "V-1004"}, Rejected, "vendor_inactive"),
        ({"tax": Decimal("19.005"), "total": Decimal("119.005")}, Rejected, "invalid_amount"),
        ({"po_number": "PO-0000"}, NotFound, "unknown_purchase_order"),
        ({"vendor_id": "V-1002", "po_number": "PO-5001"}, Rejected, "po_vendor_mismatch"),
        ({"due_date": dt.date(2024, 2, 1)}, Rejected, "invalid_request"),
        ({"currency": "E1R"}, Rejected, "invalid_request"),
        # income tax withheld must be what separates subtotal + tax from the total
        ({"withholding": Decimal("15.00")}, Rejected, "unbalanced"),
        (
            {
                "withholding": Decimal("101.00"),
                "tax": Decimal("119.00"),
                "total": Decimal("118.00"),
            },
            Rejected,
            "invalid_amount",  # more withheld than the work was worth
        ),
        ({"withholding": Decimal("119.00"), "total": Decimal("0.00")}, Rejected, "invalid_amount"),
    ],
)
async def test_refusals_of_a_real_ap_system(
    acct: MockAccountingConnector, changes: dict[str, Any], error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as refused:
        await acct.create_bill(bill(**changes), idempotency_key="k-refused")
    assert refused.value.code == code  # type: ignore[attr-defined]
    assert (await acct.health())["open_bills"] == 1


async def test_a_malformed_request_is_rejected_not_a_validation_error(
    acct: MockAccountingConnector,
) -> None:
    with pytest.raises(Rejected) as refused:
        await acct.create_bill({"vendor_id": "V-1001"}, idempotency_key="k-bad")  # type: ignore[arg-type]
    assert refused.value.code == "invalid_request"
    assert {e["loc"][0] for e in refused.value.details["errors"]} >= {"invoice_number", "total"}


async def test_due_date_follows_the_vendors_payment_terms(acct: MockAccountingConnector) -> None:
    created = await acct.create_bill(bill(), idempotency_key="k-terms")
    assert created.due_date == dt.date(2024, 2, 26)  # 14 days


async def test_money_is_exact_beyond_float_precision(acct: MockAccountingConnector) -> None:
    big = bill(
        subtotal=Decimal("12345678901234.01"),
        tax=Decimal("0.02"),
        total=Decimal("12345678901234.03"),
    )
    created = await acct.create_bill(big, idempotency_key="k-big")
    stored = await acct.get_bill(BillRef(bill_id=created.id))
    assert stored.total == Decimal("12345678901234.03")
    assert stored.subtotal + stored.tax == stored.total


async def test_voiding_a_bill_from_a_closed_month_reverses_it_today(
    acct: MockAccountingConnector,
) -> None:
    (seeded,) = await acct.find_bills(BillSearch(invoice_number="INV-2024-001"))
    void = await acct.void_bill(
        BillVoid(bill_id=seeded.id, reason="wrong vendor"), idempotency_key="k-void"
    )
    assert void.reversal_entry_id is not None
    reversal = await acct.get_journal_entry(JournalEntryRef(entry_id=void.reversal_entry_id))
    assert reversal.date == dt.date(2024, 3, 20)  # the injected clock, not the closed January
    assert reversal.reverses == seeded.journal_entry_id


async def test_a_bills_entry_is_undone_by_voiding_the_bill_not_directly(
    acct: MockAccountingConnector,
) -> None:
    (seeded,) = await acct.find_bills(BillSearch(invoice_number="INV-2024-001"))
    assert seeded.journal_entry_id is not None
    with pytest.raises(Rejected) as refused:
        await acct.reverse_journal_entry(
            JournalEntryRef(entry_id=seeded.journal_entry_id), idempotency_key="k-rev"
        )
    assert refused.value.code == "invalid_state"


async def test_closing_a_closed_period_is_refused(acct: MockAccountingConnector) -> None:
    with pytest.raises(Rejected) as refused:
        await acct.close_period(PeriodRef(period="2024-01"), idempotency_key="k-close")
    assert refused.value.code == "invalid_state"
    with pytest.raises(Rejected) as refused:
        await acct.get_period(PeriodRef(period="2024-13"))
    assert refused.value.code == "invalid_request"


def test_concurrent_calls_with_one_key_make_one_bill(db_url: str, seed_dir: Path) -> None:
    config = {"database_url": db_url, "seed": str(seed_dir)}
    MockAccountingConnector(config)  # seed once up front

    def call(key: str) -> str:
        connector = MockAccountingConnector(config)
        try:
            return asyncio.run(connector.create_bill(bill(), idempotency_key=key)).id
        except Conflict as exc:
            return exc.code
        finally:
            asyncio.run(connector.aclose())

    with ThreadPoolExecutor(max_workers=6) as pool:
        same_key = list(pool.map(call, ["k-same"] * 6))
    assert len(set(same_key)) == 1 and same_key[0].startswith("BILL-")
    with ThreadPoolExecutor(max_workers=6) as pool:
        other_keys = list(pool.map(call, [f"k-{i}" for i in range(6)]))
    assert other_keys == ["duplicate_invoice"] * 6
    with Session(MockAccountingConnector(config).engine) as session:
        count = session.exec(select(func.count()).select_from(AcctBill)).one()
    assert count == 3


def test_broken_seed_data_fails_loudly_with_the_place(tmp_path: Path, db_url: str) -> None:
    unbalanced = [{**BILLS[0], "total": "999.99"}]
    seed = write_seed(tmp_path / "broken", bills=unbalanced)
    with pytest.raises(SeedError, match=r"bills.json\[0\].*unbalanced"):
        MockAccountingConnector({"database_url": db_url, "seed": str(seed)})
    with pytest.raises(SeedError, match="does not exist"):
        MockAccountingConnector({"database_url": db_url, "seed": str(tmp_path / "nowhere")})


async def test_health_counts_without_seed(db_url: str) -> None:
    empty = MockAccountingConnector({"database_url": db_url})
    assert (await empty.health())["vendors"] == 0
    with pytest.raises(NotFound) as refused:
        await empty.create_bill(bill(), idempotency_key=new_key())
    assert refused.value.code == "unknown_vendor"
