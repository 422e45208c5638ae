"""The sales half of the CRM contract: capability ``pipeline``."""

from __future__ import annotations

from connectors.base import capability
from connectors.schemas import (
    AccountPage,
    ActivityPage,
    AgentPage,
    ContactPage,
    ListAccounts,
    ListActivities,
    ListAgents,
    ListContacts,
    ListOpportunities,
    ListProducts,
    NextStepChange,
    NextStepChangeRef,
    NextStepUpdate,
    Opportunity,
    OpportunityPage,
    OpportunityRef,
    ProductPage,
)

__all__ = ["SalesCRMActions"]


class SalesCRMActions:
    """The B2B sales pipeline: accounts, contacts, agents, products, opportunities, activities.

    Action contracts (every implementation, mocked or real, keeps them):

    - Every ``list_*`` returns records ordered by ``(updated_at, id)`` in pages of at most
      ``page_size``; following ``next_cursor`` until it is None yields every matching record
      exactly once (a record changed while paging may come once more, never zero times).
      ``updated_since`` is inclusive. A cursor the CRM did not issue is `Rejected`, code
      ``invalid_cursor``. A CRM that times out raises `Transient`; the same request
      (same cursor) may be retried.
    - Records are returned as stored: rows with no account, no value, an unknown product
      name or dates out of order are not dropped or repaired.
    - ``get_opportunity`` of an unknown id is `NotFound`.
    - ``update_opportunity_next_step`` sets a deal's next step and bumps its ``updated_at``;
      setting the value it already has changes nothing (``changed`` False, ``updated_at``
      kept). ``revert_opportunity_next_step`` restores the value before a change and is
      refused (`Conflict`, code ``next_step_changed``) when the next step was changed again
      since; reverting twice is `Rejected`, code ``invalid_state``.
    """

    # Reads (no idempotency key; no side effects)
    @capability("pipeline")
    async def list_opportunities(self, request: ListOpportunities) -> OpportunityPage:
        raise NotImplementedError  # replaced by @capability

    @capability("pipeline")
    async def get_opportunity(self, request: OpportunityRef) -> Opportunity:
        raise NotImplementedError  # replaced by @capability

    @capability("pipeline")
    async def list_accounts(self, request: ListAccounts) -> AccountPage:
        raise NotImplementedError  # replaced by @capability

    @capability("pipeline")
    async def list_contacts(self, request: ListContacts) -> ContactPage:
        raise NotImplementedError  # replaced by @capability

    @capability("pipeline")
    async def list_agents(self, request: ListAgents) -> AgentPage:
        raise NotImplementedError  # replaced by @capability

    @capability("pipeline")
    async def list_products(self, request: ListProducts) -> ProductPage:
        raise NotImplementedError  # replaced by @capability

    @capability("pipeline")
    async def list_activities(self, request: ListActivities) -> ActivityPage:
        raise NotImplementedError  # replaced by @capability

    # Writes (called with idempotency_key=...)
    @capability("pipeline")
    async def update_opportunity_next_step(
        self, request: NextStepUpdate, *, idempotency_key: str
    ) -> NextStepChange:
        raise NotImplementedError  # replaced by @capability

    @capability("pipeline")
    async def revert_opportunity_next_step(
        self, request: NextStepChangeRef, *, idempotency_key: str
    ) -> NextStepChange:
        raise NotImplementedError  # replaced by @capability
