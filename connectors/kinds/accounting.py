"""A base class per kind of business system. A connector implements one kind's actions."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from connectors.base import Connector, capability
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
    PurchaseOrderRef,
    Vendor,
    VendorCreate,
    VendorDeactivate,
    VendorMatch,
    VendorRef,
    VendorSearch,
)

__all__ = ["AccountingConnector"]


class AccountingConnector(Connector):
    """An accounting / ERP system: vendor master, purchase orders, bills, the general ledger.

    Action contracts (every implementation, mocked or real, keeps them):

    - ``create_bill`` refuses an unknown vendor (`NotFound`), a duplicate invoice number for
      the same vendor (`Conflict`, code ``duplicate_invoice``), amounts that do not add up
      (`Rejected`, code ``unbalanced``) and a date in a closed period (`Rejected`, code
      ``period_closed``). It creates a draft bill and its draft journal entry.
    - ``post_bill`` posts a draft bill and its entry; ``void_bill`` voids a bill and reverses
      its entry with a reversing entry (the compensation of create and post).
    - ``create_journal_entry`` refuses debits that do not equal credits (`Rejected`, code
      ``unbalanced``) and posts the entry; ``reverse_journal_entry`` is its compensation.
    - ``close_period`` closes a ``YYYY-MM`` period; ``reopen_period`` is its compensation.
    - A write against a record in the wrong state (posting a void bill, reversing a reversed
      entry) is `Rejected`, code ``invalid_state``; an unknown id is `NotFound`.

    Optional capability ``vendor_master`` (onboarding vendors, loading purchase orders):

    - ``create_vendor`` assigns the id; a tax id or IBAN already on file for an active
      vendor is `Conflict` (code ``duplicate_vendor``), an invalid one `Rejected` (code
      ``invalid_tax_id`` / ``invalid_iban``). ``deactivate_vendor`` is its compensation: a
      vendor with no bills is removed, one with bills deactivated.
    - ``create_purchase_order`` refuses an unknown vendor (`NotFound`) and a number already
      taken (`Conflict`, code ``duplicate_purchase_order``); ``cancel_purchase_order`` is its
      compensation (refused, ``invalid_state``, once a bill refers to the order).
    """

    kind: ClassVar[str] = "accounting"

    # Reads (no idempotency key; no side effects)
    @abstractmethod
    async def get_vendor(self, request: VendorRef) -> Vendor: ...

    @abstractmethod
    async def search_vendors(self, request: VendorSearch) -> list[VendorMatch]: ...

    @abstractmethod
    async def get_purchase_order(self, request: PurchaseOrderRef) -> PurchaseOrder: ...

    @abstractmethod
    async def find_bills(self, request: BillSearch) -> list[Bill]: ...

    @abstractmethod
    async def get_bill(self, request: BillRef) -> Bill: ...

    @abstractmethod
    async def get_journal_entry(self, request: JournalEntryRef) -> JournalEntry: ...

    @abstractmethod
    async def get_period(self, request: PeriodRef) -> Period: ...

    # Writes (called with idempotency_key=...)
    @abstractmethod
    async def create_bill(self, request: BillCreate, *, idempotency_key: str) -> Bill: ...

    @abstractmethod
    async def post_bill(self, request: BillRef, *, idempotency_key: str) -> Bill: ...

    @abstractmethod
    async def void_bill(self, request: BillVoid, *, idempotency_key: str) -> Bill: ...

    @abstractmethod
    async def create_journal_entry(
        self, request: JournalEntryCreate, *, idempotency_key: str
    ) -> JournalEntry: ...

    @abstractmethod
    async def reverse_journal_entry(
        self, request: JournalEntryRef, *, idempotency_key: str
    ) -> JournalEntry: ...

    @abstractmethod
    async def close_period(self, request: PeriodRef, *, idempotency_key: str) -> Period: ...

    @abstractmethod
    async def reopen_period(self, request: PeriodRef, *, idempotency_key: str) -> Period: ...

    # Optional: the vendor master (capability "vendor_master")

    @capability("vendor_master")
    async def create_vendor(self, request: VendorCreate, *, idempotency_key: str) -> Vendor:
        raise NotImplementedError  # replaced by @capability

    @capability("vendor_master")
    async def deactivate_vendor(self, request: VendorDeactivate, *, idempotency_key: str) -> Vendor:
        raise NotImplementedError  # replaced by @capability

    @capability("vendor_master")
    async def create_purchase_order(
        self, request: PurchaseOrderCreate, *, idempotency_key: str
    ) -> PurchaseOrder:
        raise NotImplementedError  # replaced by @capability

    @capability("vendor_master")
    async def cancel_purchase_order(
        self, request: PurchaseOrderCancel, *, idempotency_key: str
    ) -> PurchaseOrder:
        raise NotImplementedError  # replaced by @capability
