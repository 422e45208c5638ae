"""The behaviour every CRM's sales half shows, mocked or real (see `SalesCRMActions`).

The suite reads whatever sales data the CRM holds (it needs some opportunities, accounts,
agents, products and activities) and writes to one deal: set ``opportunity_id`` to a deal
whose next step the suite may change; it puts the original back when it is done.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import pytest

from connectors.errors import Conflict, NotFound, Rejected
from connectors.kinds.crm_sales import SalesCRMActions
from connectors.schemas import (
    ListAccounts,
    ListActivities,
    ListAgents,
    ListContacts,
    ListOpportunities,
    ListProducts,
    NextStepChangeRef,
    NextStepUpdate,
    OpportunityRef,
    PageRequest,
)
from connectors.testing.suite import ConnectorTests, new_key, undo_call

__all__ = ["SalesCRMConnectorTests", "collect"]

_asyncio = pytest.mark.asyncio
_LISTS: dict[str, type[PageRequest]] = {
    "list_opportunities": ListOpportunities,
    "list_accounts": ListAccounts,
    "list_contacts": ListContacts,
    "list_agents": ListAgents,
    "list_products": ListProducts,
    "list_activities": ListActivities,
}


async def collect(
    list_page: Callable[[Any], Awaitable[Any]], request: PageRequest, *, max_pages: int = 10_000
) -> list[Any]:
    """Every record of a paged list, following ``next_cursor`` from ``request``."""
    items: list[Any] = []
    for _ in range(max_pages):
        page = await list_page(request)
        assert len(page.items) <= request.page_size
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        request = request.model_copy(update={"cursor": page.next_cursor})
    pytest.fail(f"still paging after {max_pages} pages: does the cursor advance?")


class SalesCRMConnectorTests(ConnectorTests):
    """Paging, incremental reads and next-step writes of a CRM's sales half."""

    #: A deal whose next step the suite may change (it is restored afterwards).
    opportunity_id: ClassVar[str | None] = None
    unknown_opportunity_id: ClassVar[str] = "no-such-deal-7c1d2a"
    #: Page size for the paging tests; small, so even a small data set spans pages.
    small_page: ClassVar[int] = 7

    def deal_id(self) -> str:
        if self.opportunity_id is None:
            pytest.fail(f"{type(self).__name__} must set `opportunity_id` to a deal")
        return self.opportunity_id

    def test_is_a_sales_crm_with_its_compensations(self) -> None:
        assert issubclass(self.connector_class, SalesCRMActions)
        specs = self.connector_class.action_specs()
        assert specs["update_opportunity_next_step"].undo == "revert_opportunity_next_step"
        assert not any(specs[name].side_effect for name in _LISTS)

    @_asyncio
    async def test_the_declared_undo_puts_the_next_step_back(
        self, connector: SalesCRMActions
    ) -> None:
        deal = await connector.get_opportunity(OpportunityRef(opportunity_id=self.deal_id()))
        request = NextStepUpdate(opportunity_id=deal.id, next_step=f"call {uuid.uuid4().hex[:6]}")
        key = new_key()
        change = await connector.update_opportunity_next_step(request, idempotency_key=key)
        await undo_call(connector, "update_opportunity_next_step", request, change, key)
        again = await connector.get_opportunity(OpportunityRef(opportunity_id=deal.id))
        assert again.next_step == deal.next_step

    @_asyncio
    @pytest.mark.parametrize("action", list(_LISTS))
    async def test_paging_yields_every_record_once_in_order(
        self, connector: SalesCRMActions, action: str
    ) -> None:
        list_page = getattr(connector, action)
        request = _LISTS[action]
        whole = await collect(list_page, request(page_size=1000))
        assert whole, f"{action}: the CRM under test needs some data"
        paged = await collect(list_page, request(page_size=self.small_page))
        ids = [r.id for r in paged]
        assert len(ids) == len(set(ids)), f"{action}: a record came twice"
        assert set(ids) == {r.id for r in whole}
        keys = [(r.updated_at, r.id) for r in paged]
        assert keys == sorted(keys), f"{action}: not ordered by (updated_at, id)"

    @_asyncio
    async def test_updated_since_is_inclusive_and_leaves_out_older_records(
        self, connector: SalesCRMActions
    ) -> None:
        everything = await collect(connector.list_opportunities, ListOpportunities(page_size=1000))
        stamps = sorted({o.updated_at for o in everything})
        since = stamps[len(stamps) // 2]
        recent = await collect(
            connector.list_opportunities, ListOpportunities(updated_since=since, page_size=1000)
        )
        expected = {o.id for o in everything if o.updated_at >= since}
        assert {o.id for o in recent} == expected
        assert expected and len(expected) < len(everything)

    @_asyncio
    async def test_filters_narrow_the_pages(self, connector: SalesCRMActions) -> None:
        won = await collect(
            connector.list_opportunities, ListOpportunities(stages=["Won"], page_size=1000)
        )
        assert won and {o.stage for o in won} == {"Won"}
        deal = won[0]
        acts = await collect(
            connector.list_activities, ListActivities(opportunity_id=deal.id, page_size=1000)
        )
        assert all(a.opportunity_id == deal.id for a in acts)

    @_asyncio
    async def test_a_cursor_it_did_not_issue_is_refused(self, connector: SalesCRMActions) -> None:
        for cursor in ("not-a-cursor", "eyJ4IjogMX0"):
            with pytest.raises(Rejected) as refused:
                await connector.list_opportunities(ListOpportunities(cursor=cursor))
            assert refused.value.code == "invalid_cursor"

    @_asyncio
    async def test_pages_are_at_most_a_thousand(self, connector: SalesCRMActions) -> None:
        with pytest.raises(Rejected) as refused:
            await connector.list_opportunities({"page_size": 1001})  # type: ignore[arg-type]
        assert refused.value.code == "invalid_request"

    @_asyncio
    async def test_get_opportunity_and_an_unknown_one(self, connector: SalesCRMActions) -> None:
        deal = await connector.get_opportunity(OpportunityRef(opportunity_id=self.deal_id()))
        assert deal.id == self.deal_id()
        with pytest.raises(NotFound):
            await connector.get_opportunity(
                OpportunityRef(opportunity_id=self.unknown_opportunity_id)
            )

    @_asyncio
    async def test_next_step_change_is_idempotent_and_seen_by_incremental_reads(
        self, connector: SalesCRMActions
    ) -> None:
        deal_id = self.deal_id()
        before = await connector.get_opportunity(OpportunityRef(opportunity_id=deal_id))
        step = f"Call back ({uuid.uuid4().hex[:6]})"
        request, key = NextStepUpdate(opportunity_id=deal_id, next_step=step), new_key()
        started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        change = await connector.update_opportunity_next_step(request, idempotency_key=key)
        try:
            assert (change.previous_next_step, change.next_step, change.changed) == (
                before.next_step,
                step,
                True,
            )
            assert await connector.update_opportunity_next_step(request, idempotency_key=key) == (
                change
            )
            after = await connector.get_opportunity(OpportunityRef(opportunity_id=deal_id))
            assert after.next_step == step and after.updated_at >= started
            since = await collect(
                connector.list_opportunities, ListOpportunities(updated_since=started)
            )
            assert deal_id in {o.id for o in since}

            same = await connector.update_opportunity_next_step(request, idempotency_key=new_key())
            assert same.changed is False
            unchanged = await connector.get_opportunity(OpportunityRef(opportunity_id=deal_id))
            assert unchanged.updated_at == after.updated_at
        finally:
            await connector.revert_opportunity_next_step(
                NextStepChangeRef(change_id=change.id), idempotency_key=new_key()
            )
        restored = await connector.get_opportunity(OpportunityRef(opportunity_id=deal_id))
        assert restored.next_step == before.next_step

    @_asyncio
    async def test_revert_refuses_twice_and_after_a_newer_change(
        self, connector: SalesCRMActions
    ) -> None:
        deal_id = self.deal_id()
        before = await connector.get_opportunity(OpportunityRef(opportunity_id=deal_id))
        first = await connector.update_opportunity_next_step(
            NextStepUpdate(opportunity_id=deal_id, next_step="First"), idempotency_key=new_key()
        )
        second = await connector.update_opportunity_next_step(
            NextStepUpdate(opportunity_id=deal_id, next_step="Second"), idempotency_key=new_key()
        )
        with pytest.raises(Conflict) as refused:
            await connector.revert_opportunity_next_step(
                NextStepChangeRef(change_id=first.id), idempotency_key=new_key()
            )
        assert refused.value.code == "next_step_changed"
        for change in (second, first):
            reverted = await connector.revert_opportunity_next_step(
                NextStepChangeRef(change_id=change.id), idempotency_key=new_key()
            )
            assert reverted.reverted_at is not None
        with pytest.raises(Rejected) as again:
            await connector.revert_opportunity_next_step(
                NextStepChangeRef(change_id=first.id), idempotency_key=new_key()
            )
        assert again.value.code == "invalid_state"
        restored = await connector.get_opportunity(OpportunityRef(opportunity_id=deal_id))
        assert restored.next_step == before.next_step
