"""The behaviour every accounting connector shows, mocked or real (see `AccountingConnector`).

The suite needs one thing the accounting contract cannot create: a vendor. Set
``vendor_id`` to an active vendor with a tax id. Everything else it makes through the
connector's own actions, with fresh invoice numbers and keys, so it can also run against a
shared sandbox. Bills are dated ``bill_date`` (default: today, which must be in an open
period); the closed-period test closes ``scratch_period`` unless ``closed_period`` names
one that is closed already.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any, ClassVar

import pytest
import pytest_asyncio

from connectors.errors import Conflict, NotFound, Rejected
from connectors.kinds import AccountingConnector
from connectors.schemas import (
    Bill,
    BillCreate,
    BillLine,
    BillRef,
    BillSearch,
    BillVoid,
    JournalEntryCreate,
    JournalEntryRef,
    JournalLine,
    PeriodRef,
    Vendor,
    VendorRef,
    VendorSearch,
)
from connectors.testing.suite import ConnectorTests, new_key, undo_call

__all__ = ["AccountingConnectorTests"]

_asyncio = pytest.mark.asyncio


class AccountingConnectorTests(ConnectorTests):
    """Refusals, idempotency and compensation of an `AccountingConnector`."""

    #: An active vendor with a tax id; the suite files its test bills against it.
    vendor_id: ClassVar[str | None] = None
    #: A period (YYYY-MM) that is closed; None: the suite closes ``scratch_period`` itself.
    closed_period: ClassVar[str | None] = None
    scratch_period: ClassVar[str] = "2001-01"
    #: The date of test bills; None: today.
    bill_date: ClassVar[dt.date | None] = None
    unknown_vendor_id: ClassVar[str] = "no-such-vendor-5f1c9e"
    expense_account: ClassVar[str] = "6000"
    #: Two accounts a manual journal entry may move money between.
    journal_accounts: ClassVar[tuple[str, str]] = ("6000", "1200")

    @pytest_asyncio.fixture
    async def vendor(self, connector: AccountingConnector) -> Vendor:
        if self.vendor_id is None:
            pytest.fail(f"{type(self).__name__} must set `vendor_id` to an active vendor")
        return await connector.get_vendor(VendorRef(vendor_id=self.vendor_id))

    def bill_request(self, vendor: Vendor, **changes: Any) -> BillCreate:
        """A valid bill with a fresh invoice number: 2 lines, 100.00 net, 19.00 VAT."""
        fields: dict[str, Any] = {
            "vendor_id": vendor.id,
            "invoice_number": f"CT-{uuid.uuid4().hex[:10].upper()}",
            "invoice_date": self.bill_date or dt.date.today(),
            "currency": vendor.currency,
            "subtotal": Decimal("100.00"),
            "tax": Decimal("19.00"),
            "total": Decimal("119.00"),
            "expense_account": self.expense_account,
            "lines": [
                BillLine(
                    description="Widgets",
                    quantity=Decimal(4),
                    unit_price=Decimal("15.00"),
                    amount=Decimal("60.00"),
                ),
                BillLine(
                    description="Freight", unit_price=Decimal("40.00"), amount=Decimal("40.00")
                ),
            ],
        }
        return BillCreate(**{**fields, **changes})

    async def ledger_effect(self, connector: AccountingConnector, bill: Bill) -> dict[str, Decimal]:
        """Net debit per account of a bill's posted (and later reversed) entries."""
        net: dict[str, Decimal] = defaultdict(Decimal)
        for entry_id in (bill.journal_entry_id, bill.reversal_entry_id):
            if entry_id is None:
                continue
            entry = await connector.get_journal_entry(JournalEntryRef(entry_id=entry_id))
            if entry.status == "draft":
                continue
            for line in entry.lines:
                net[line.account] += line.debit - line.credit
        return dict(net)

    async def bills_for(self, connector: AccountingConnector, request: BillCreate) -> list[Bill]:
        search = BillSearch(vendor_id=request.vendor_id, invoice_number=request.invoice_number)
        return await connector.find_bills(search)

    def test_is_an_accounting_connector(self) -> None:
        assert issubclass(self.connector_class, AccountingConnector)
        assert self.connector_class.kind == "accounting"

    def test_declares_the_compensations(self) -> None:
        specs = self.connector_class.action_specs()
        assert specs["create_bill"].undo == "void_bill"
        assert specs["post_bill"].undo == "void_bill"
        assert specs["create_journal_entry"].undo == "reverse_journal_entry"
        assert specs["close_period"].undo == "reopen_period"

    @_asyncio
    async def test_reads_a_vendor_and_refuses_an_unknown_one(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        assert vendor.id == self.vendor_id and vendor.active
        with pytest.raises(NotFound):
            await connector.get_vendor(VendorRef(vendor_id=self.unknown_vendor_id))

    @_asyncio
    async def test_search_by_tax_id_is_exact(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        if not vendor.tax_id:
            pytest.fail("the vendor named by `vendor_id` needs a tax id")
        as_printed = " ".join(vendor.tax_id[i : i + 3] for i in range(0, len(vendor.tax_id), 3))
        found = await connector.search_vendors(VendorSearch(tax_id=as_printed.lower()))
        assert found and found[0].vendor.id == vendor.id
        assert (found[0].matched_on, found[0].score) == ("tax_id", 100)
        last = vendor.tax_id[-1]
        wrong = vendor.tax_id[:-1] + ("1" if last != "1" else "2")
        found = await connector.search_vendors(VendorSearch(tax_id=wrong))
        assert vendor.id not in [m.vendor.id for m in found if m.matched_on == "tax_id"]

    @_asyncio
    async def test_search_by_name_is_fuzzy_and_ranked(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        found = await connector.search_vendors(VendorSearch(name=vendor.name.upper(), limit=5))
        assert vendor.id in [m.vendor.id for m in found]
        assert len(found) <= 5
        assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
        match = next(m for m in found if m.vendor.id == vendor.id)
        assert match.matched_on in ("name", "alias") and match.score >= 80

    @_asyncio
    async def test_create_bill_writes_a_draft_with_a_balanced_entry(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        request = self.bill_request(vendor)
        bill = await connector.create_bill(request, idempotency_key=new_key())
        assert bill.status == "draft" and bill.vendor_id == vendor.id
        assert (bill.subtotal, bill.tax, bill.total) == (
            request.subtotal,
            request.tax,
            request.total,
        )
        assert bill.journal_entry_id is not None
        entry = await connector.get_journal_entry(JournalEntryRef(entry_id=bill.journal_entry_id))
        assert entry.status == "draft"
        assert sum(ln.debit for ln in entry.lines) == sum(ln.credit for ln in entry.lines)
        assert sum(ln.credit for ln in entry.lines) == request.total
        assert await connector.get_bill(BillRef(bill_id=bill.id)) == bill

    @_asyncio
    async def test_create_bill_with_the_same_key_replays_without_a_second_bill(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        request, key = self.bill_request(vendor), new_key()
        first = await connector.create_bill(request, idempotency_key=key)
        again = await connector.create_bill(request, idempotency_key=key)
        assert again == first
        assert [b.id for b in await self.bills_for(connector, request)] == [first.id]

    @_asyncio
    async def test_a_bill_is_on_record_under_its_key(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        """How a flow re-run after a crash tells its own bill from a duplicate."""
        key = new_key()
        assert await connector.recorded("create_bill", key) is None
        bill = await connector.create_bill(self.bill_request(vendor), idempotency_key=key)
        assert await connector.recorded("create_bill", key) == bill
        assert await connector.recorded("post_bill", key) is None, "the key is per action"

    @_asyncio
    async def test_a_refused_bill_is_not_on_record(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        unbalanced, key = self.bill_request(vendor, total=Decimal("120.00")), new_key()
        with pytest.raises(Rejected):
            await connector.create_bill(unbalanced, idempotency_key=key)
        assert await connector.recorded("create_bill", key) is None

    @_asyncio
    async def test_a_key_reused_for_another_request_conflicts(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        key = new_key()
        await connector.create_bill(self.bill_request(vendor), idempotency_key=key)
        other = self.bill_request(vendor)
        with pytest.raises(Conflict) as refused:
            await connector.create_bill(other, idempotency_key=key)
        assert refused.value.code == "idempotency_key_reused"
        assert await self.bills_for(connector, other) == []

    @_asyncio
    async def test_a_duplicate_invoice_number_conflicts(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        request = self.bill_request(vendor)
        await connector.create_bill(request, idempotency_key=new_key())
        same_invoice = request.model_copy(update={"memo": "sent twice"})
        with pytest.raises(Conflict) as refused:
            await connector.create_bill(same_invoice, idempotency_key=new_key())
        assert refused.value.code == "duplicate_invoice"
        assert len(await self.bills_for(connector, request)) == 1

    @_asyncio
    async def test_a_bill_for_an_unknown_vendor_is_refused(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        request = self.bill_request(vendor, vendor_id=self.unknown_vendor_id)
        with pytest.raises(NotFound) as refused:
            await connector.create_bill(request, idempotency_key=new_key())
        assert refused.value.code == "unknown_vendor"

    @_asyncio
    @pytest.mark.parametrize(
        "changes",
        [
            {"total": Decimal("118.00")},
            {"subtotal": Decimal("90.00"), "total": Decimal("109.00")},
        ],
        ids=["total-is-not-subtotal-plus-tax", "lines-do-not-sum-to-subtotal"],
    )
    async def test_amounts_that_do_not_add_up_are_refused(
        self, connector: AccountingConnector, vendor: Vendor, changes: dict[str, Any]
    ) -> None:
        request = self.bill_request(vendor, **changes)
        with pytest.raises(Rejected) as refused:
            await connector.create_bill(request, idempotency_key=new_key())
        assert refused.value.code == "unbalanced"
        assert await self.bills_for(connector, request) == []

    @_asyncio
    async def test_a_bill_in_a_closed_period_is_refused(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        period = self.closed_period or self.scratch_period
        if self.closed_period is None:
            status = await connector.get_period(PeriodRef(period=period))
            if status.status == "open":
                await connector.close_period(PeriodRef(period=period), idempotency_key=new_key())
        assert (await connector.get_period(PeriodRef(period=period))).status == "closed"
        year, month = map(int, period.split("-"))
        request = self.bill_request(vendor, invoice_date=dt.date(year, month, 15))
        with pytest.raises(Rejected) as refused:
            await connector.create_bill(request, idempotency_key=new_key())
        assert refused.value.code == "period_closed"

    @_asyncio
    async def test_reopening_undoes_closing_a_period(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        ref = PeriodRef(period=self.scratch_period)
        if (await connector.get_period(ref)).status == "closed":
            await connector.reopen_period(ref, idempotency_key=new_key())
        assert (await connector.close_period(ref, idempotency_key=new_key())).status == "closed"
        assert (await connector.reopen_period(ref, idempotency_key=new_key())).status == "open"
        year, month = map(int, self.scratch_period.split("-"))
        request = self.bill_request(vendor, invoice_date=dt.date(year, month, 15))
        assert (await connector.create_bill(request, idempotency_key=new_key())).status == "draft"

    @_asyncio
    async def test_voiding_undoes_create_bill(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        request = self.bill_request(vendor)
        bill = await connector.create_bill(request, idempotency_key=new_key())
        void = await connector.void_bill(
            BillVoid(bill_id=bill.id, reason="conformance test"), idempotency_key=new_key()
        )
        assert void.status == "void"
        assert all(v == 0 for v in (await self.ledger_effect(connector, void)).values())
        assert await self.bills_for(connector, request) == []
        again = await connector.create_bill(request, idempotency_key=new_key())
        assert again.id != bill.id, "a void bill's invoice number can be billed again"

    @_asyncio
    async def test_the_declared_undo_of_a_posted_bill_voids_it(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        request = self.bill_request(vendor)
        bill = await connector.create_bill(request, idempotency_key=new_key())
        key = new_key()
        posted = await connector.post_bill(BillRef(bill_id=bill.id), idempotency_key=key)
        void = await undo_call(connector, "post_bill", BillRef(bill_id=bill.id), posted, key)
        assert void.status == "void" and void.id == bill.id
        assert all(v == 0 for v in (await self.ledger_effect(connector, void)).values())
        assert await self.bills_for(connector, request) == []

    @_asyncio
    async def test_voiding_a_posted_bill_reverses_its_entry(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        bill = await connector.create_bill(self.bill_request(vendor), idempotency_key=new_key())
        posted = await connector.post_bill(BillRef(bill_id=bill.id), idempotency_key=new_key())
        assert posted.status == "posted"
        effect = await self.ledger_effect(connector, posted)
        assert sum(effect.values()) == 0 and any(effect.values())
        void = await connector.void_bill(
            BillVoid(bill_id=bill.id, reason="conformance test"), idempotency_key=new_key()
        )
        assert void.status == "void" and void.reversal_entry_id is not None
        assert all(v == 0 for v in (await self.ledger_effect(connector, void)).values())
        with pytest.raises(Rejected) as refused:
            await connector.post_bill(BillRef(bill_id=bill.id), idempotency_key=new_key())
        assert refused.value.code == "invalid_state"

    @_asyncio
    async def test_an_unknown_bill_is_not_found(self, connector: AccountingConnector) -> None:
        with pytest.raises(NotFound):
            await connector.get_bill(BillRef(bill_id=f"missing-{uuid.uuid4().hex}"))

    @_asyncio
    async def test_journal_entries_must_balance_and_reverse_to_zero(
        self, connector: AccountingConnector, vendor: Vendor
    ) -> None:
        debit_account, credit_account = self.journal_accounts

        def entry(credit: str) -> JournalEntryCreate:
            return JournalEntryCreate(
                date=self.bill_date or dt.date.today(),
                currency=vendor.currency,
                memo="conformance test",
                lines=[
                    JournalLine(account=debit_account, debit=Decimal("50.00")),
                    JournalLine(account=credit_account, credit=Decimal(credit)),
                ],
            )

        with pytest.raises(Rejected) as refused:
            await connector.create_journal_entry(entry("49.99"), idempotency_key=new_key())
        assert refused.value.code == "unbalanced"
        posted = await connector.create_journal_entry(entry("50.00"), idempotency_key=new_key())
        reversal = await connector.reverse_journal_entry(
            JournalEntryRef(entry_id=posted.id), idempotency_key=new_key()
        )
        net: dict[str, Decimal] = defaultdict(Decimal)
        for line in [*posted.lines, *reversal.lines]:
            net[line.account] += line.debit - line.credit
        assert all(v == 0 for v in net.values())
        original = await connector.get_journal_entry(JournalEntryRef(entry_id=posted.id))
        assert original.status == "reversed"
        with pytest.raises(Rejected) as refused:
            await connector.reverse_journal_entry(
                JournalEntryRef(entry_id=posted.id), idempotency_key=new_key()
            )
        assert refused.value.code == "invalid_state"
