"""The sales half of the mocked CRM: paged reads, next-step writes, seeding and imports.

A mixin of `MockCRMConnector`; it expects ``self.engine``, ``self.session()`` (from
`SqlConnectorMixin`) and ``self.config.sales`` (a `SalesConfig`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, Table, func, select
from sqlmodel import Session

from connectors.base import Done, Undo, action
from connectors.crm._sales_load import scale_up, seed_sales_if_empty
from connectors.crm._sales_maven import import_maven
from connectors.crm._sales_paging import PageFault, read_page
from connectors.crm._sales_tables import (
    SALES_TABLES,
    CrmSAccount,
    CrmSActivity,
    CrmSAgent,
    CrmSContact,
    CrmSNextStepChange,
    CrmSOpportunity,
    CrmSProduct,
    table_of,
)
from connectors.errors import Conflict, NotFound, Rejected
from connectors.schemas import (
    Account,
    AccountPage,
    Activity,
    ActivityPage,
    AgentPage,
    Contact,
    ContactPage,
    ImportDataset,
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
    PageRequest,
    Product,
    ProductPage,
    SalesAgent,
    SalesImportReport,
)

__all__ = ["PageFault", "SalesActions", "SalesConfig"]


class SalesConfig(BaseModel):
    """The sales half's own settings, under ``sales`` in the CRM connector's config."""

    model_config = ConfigDict(extra="forbid")

    seed: str | None = Field(
        default=None,
        description="Folder of the sales fixture CSVs; default: `<seed>/../crm_sales`, "
        "beside the CRM's seed folder. Loaded only while the CRM has no sales data.",
    )
    fail_after_pages: int | None = Field(
        default=None, ge=0, description="Test fault: list calls time out after this many pages"
    )
    fail_times: int = Field(
        default=1, ge=1, description="How many list calls in a row time out once failing"
    )


class _HasSalesConfig(Protocol):
    sales: SalesConfig
    seed: str | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _revert(done: Done[NextStepUpdate, NextStepChange]) -> NextStepChangeRef:
    return NextStepChangeRef(change_id=done.result.id)


def _reapply(done: Done[NextStepChangeRef, NextStepChange]) -> NextStepUpdate:
    return NextStepUpdate(
        opportunity_id=done.result.opportunity_id, next_step=done.result.next_step
    )


class SalesActions:
    """Accounts, contacts, agents, products, opportunities and activities, read in pages."""

    engine: Engine
    config: _HasSalesConfig
    #: The fault the list actions consult; built from config, replaceable in tests.
    sales_fault: PageFault | None = None

    if TYPE_CHECKING:

        def session(self) -> AbstractContextManager[Session]: ...  # from SqlConnectorMixin

    def _sales_tables(self) -> list[Any]:
        return list(SALES_TABLES)

    def _seed_sales(self, seed: Path) -> None:
        if self.config.sales.seed is None:
            seed_sales_if_empty(self.engine, seed.parent / f"{seed.name}_sales")
            return
        folder = Path(self.config.sales.seed)
        if not folder.is_dir():
            raise FileNotFoundError(f"sales seed folder {folder} does not exist")
        seed_sales_if_empty(self.engine, folder)

    def _page(
        self, model: Any, record: type[Any], request: PageRequest, *where: Any
    ) -> tuple[list[Any], str | None]:
        if self.sales_fault is None:
            cfg = self.config.sales
            self.sales_fault = PageFault(after=cfg.fail_after_pages, times=cfg.fail_times)
        self.sales_fault.before_page()
        with self.session() as session:
            page = read_page(session, table_of(model), record, request, *where)
        self.sales_fault.after_page()
        return page

    # Reads

    @action()
    async def list_opportunities(self, request: ListOpportunities) -> OpportunityPage:
        """Deals in pages ordered by (updated_at, id); ``updated_since`` for what changed."""
        table = table_of(CrmSOpportunity)
        where = [table.c.stage.in_(request.stages)] if request.stages else []
        items, cursor = self._page(CrmSOpportunity, Opportunity, request, *where)
        return OpportunityPage(items=items, next_cursor=cursor)

    @action()
    async def get_opportunity(self, request: OpportunityRef) -> Opportunity:
        """One deal as stored, with its next step and latest activity date."""
        with self.session() as session:
            row = session.get(CrmSOpportunity, request.opportunity_id)
            if row is None:
                raise NotFound(f"no opportunity {request.opportunity_id!r}")
            return Opportunity.model_validate(row, from_attributes=True)

    @action()
    async def list_accounts(self, request: ListAccounts) -> AccountPage:
        """Customer companies in pages ordered by (updated_at, id)."""
        items, cursor = self._page(CrmSAccount, Account, request)
        return AccountPage(items=items, next_cursor=cursor)

    @action()
    async def list_contacts(self, request: ListContacts) -> ContactPage:
        """People at accounts, optionally of one account, in pages."""
        table = table_of(CrmSContact)
        where = [table.c.account_id == request.account_id] if request.account_id else []
        items, cursor = self._page(CrmSContact, Contact, request, *where)
        return ContactPage(items=items, next_cursor=cursor)

    @action()
    async def list_agents(self, request: ListAgents) -> AgentPage:
        """Sales agents with their manager and regional office, in pages."""
        items, cursor = self._page(CrmSAgent, SalesAgent, request)
        return AgentPage(items=items, next_cursor=cursor)

    @action()
    async def list_products(self, request: ListProducts) -> ProductPage:
        """The price list, in pages."""
        items, cursor = self._page(CrmSProduct, Product, request)
        return ProductPage(items=items, next_cursor=cursor)

    @action()
    async def list_activities(self, request: ListActivities) -> ActivityPage:
        """Calls, emails and meetings on deals, optionally of one deal, in pages."""
        table = table_of(CrmSActivity)
        where = [table.c.opportunity_id == request.opportunity_id] if request.opportunity_id else []
        items, cursor = self._page(CrmSActivity, Activity, request, *where)
        return ActivityPage(items=items, next_cursor=cursor)

    # Writes

    @action(side_effect=True, undo=Undo("revert_opportunity_next_step", _revert))
    async def update_opportunity_next_step(
        self, request: NextStepUpdate, *, idempotency_key: str
    ) -> NextStepChange:
        """Set a deal's next step; the change is kept so it can be reverted."""
        now = _now()
        with self.session() as session:
            opp = session.get(CrmSOpportunity, request.opportunity_id)
            if opp is None:
                raise NotFound(f"no opportunity {request.opportunity_id!r}")
            previous = opp.next_step
            changed = previous != request.next_step
            if changed:
                opp.next_step, opp.updated_at = request.next_step, now
                session.add(opp)
            change = CrmSNextStepChange(
                id=f"NSC-{uuid.uuid4().hex[:12]}",
                opportunity_id=opp.id,
                previous_next_step=previous,
                next_step=request.next_step,
                changed=changed,
                changed_at=now,
            )
            session.add(change)
            session.flush()
            return NextStepChange.model_validate(change, from_attributes=True)

    @action(side_effect=True, undo=Undo("update_opportunity_next_step", _reapply))
    async def revert_opportunity_next_step(
        self, request: NextStepChangeRef, *, idempotency_key: str
    ) -> NextStepChange:
        """Restore the next step a change replaced, unless it was changed again since."""
        now = _now()
        with self.session() as session:
            change = session.get(CrmSNextStepChange, request.change_id)
            if change is None:
                raise NotFound(f"no next-step change {request.change_id!r}")
            if change.reverted_at is not None:
                raise Rejected(f"change {change.id} was already reverted", code="invalid_state")
            opp = session.get(CrmSOpportunity, change.opportunity_id)
            if opp is None:
                raise NotFound(f"no opportunity {change.opportunity_id!r}")
            if change.changed:
                if opp.next_step != change.next_step:
                    raise Conflict(
                        f"the next step of {opp.id} was changed again since {change.id}",
                        code="next_step_changed",
                    )
                opp.next_step, opp.updated_at = change.previous_next_step, now
                session.add(opp)
            change.reverted_at = now
            session.add(change)
            session.flush()
            return NextStepChange.model_validate(change, from_attributes=True)

    # Loading data (administration, not actions: flows never call these)

    def import_maven_dataset(self, request: ImportDataset) -> SalesImportReport:
        """Load a folder in the public CRM Sales Opportunities format, in one transaction."""
        with Session(self.engine) as session:
            report = import_maven(session, Path(request.path), replace=request.replace, now=_now())
            session.commit()
        return report

    def scale_up(self, factor: int) -> int:
        """Make the pipeline ``factor`` times as large with renamed copies; returns deals added."""
        with Session(self.engine) as session:
            added = scale_up(session, factor)
            session.commit()
        return added

    def sales_counts(self) -> dict[str, int]:
        """Rows per sales table, for health checks and import summaries."""
        with Session(self.engine) as session:

            def count(table: Table) -> int:
                return int(session.execute(select(func.count()).select_from(table)).scalar_one())

            return {t.name.removeprefix("crm_s_"): count(t) for t in SALES_TABLES}
