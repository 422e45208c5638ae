"""B2B sales records of a CRM: accounts, contacts, agents, products, opportunities, activities.

The shapes follow what real sales CRMs hold, warts included: an opportunity may have no
account, no value and no close date, and names its product as it was typed (which may not
match the product list). A flow sees the data as the CRM has it and judges its quality
itself; the connector neither cleans nor drops rows.

Every record carries ``updated_at`` (UTC) and every list is read in pages ordered by
``(updated_at, id)``, so a caller collects everything changed since its last run by passing
that run's watermark as ``updated_since``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator

Stage = Literal["Prospecting", "Engaging", "Won", "Lost"]
OPEN_STAGES: tuple[Stage, ...] = ("Prospecting", "Engaging")
ActivityKind = Literal["call", "email", "meeting"]
SizeBand = Literal["small", "mid", "large", "enterprise"]


class Account(BaseModel):
    """A customer or prospect company."""

    id: str
    name: str
    sector: str | None = Field(default=None, description="As recorded; may be misspelt")
    size: SizeBand | None = Field(
        default=None, description="Band by employees: <200 small, <1000 mid, <5000 large"
    )
    employees: int | None = None
    revenue: Decimal | None = Field(default=None, description="Annual revenue, millions of USD")
    year_established: int | None = None
    office_location: str | None = Field(default=None, description="Country of the head office")
    region: str | None = Field(default=None, description="Americas, EMEA or APAC")
    parent_id: str | None = Field(default=None, description="Id of the parent company's account")
    updated_at: dt.datetime


class Contact(BaseModel):
    """A person at an account."""

    id: str
    account_id: str
    name: str
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    updated_at: dt.datetime


class SalesAgent(BaseModel):
    """A sales representative; the team is their manager's, in one regional office."""

    id: str
    name: str
    manager: str | None = None
    regional_office: str | None = Field(default=None, description="e.g. Central, East, West")
    updated_at: dt.datetime


class Product(BaseModel):
    """A product on the price list; opportunities name it by ``name``."""

    id: str
    name: str
    series: str | None = None
    list_price: Decimal | None = Field(default=None, description="USD per unit")
    updated_at: dt.datetime


class Opportunity(BaseModel):
    """A deal. ``value`` is the close value: the amount won, 0 when lost, usually empty while
    open. ``close_date`` is the actual date for Won/Lost and the expected one while open."""

    id: str
    agent_id: str
    product: str = Field(description="The product as entered; may not match a Product.name")
    account_id: str | None = Field(default=None, description="None: no account recorded")
    stage: Stage
    value: Decimal | None = None
    currency: str = "USD"
    engage_date: dt.date | None = Field(default=None, description="None while prospecting")
    close_date: dt.date | None = None
    next_step: str | None = None
    last_activity_date: dt.date | None = Field(
        default=None, description="Date of the latest activity logged on the deal, kept by the CRM"
    )
    updated_at: dt.datetime


class Activity(BaseModel):
    """A call, email or meeting logged against an opportunity."""

    id: str
    opportunity_id: str
    agent_id: str | None = None
    kind: ActivityKind
    date: dt.date
    note: str | None = None
    updated_at: dt.datetime


# Reads: one request shape for every list, pages with an opaque cursor.

T = TypeVar("T", bound=BaseModel)


class PageRequest(BaseModel):
    """One page of a list ordered by ``(updated_at, id)``.

    ``updated_since`` is inclusive (a record stamped exactly at the watermark comes again:
    collect by id and such repeats do no harm). Pass back ``next_cursor`` unchanged, with the
    same filters, to get the following page; a record changed while paging moves to the end
    of the order, so it is read again rather than missed.
    """

    updated_since: dt.datetime | None = Field(default=None, description="Naive means UTC")
    cursor: str | None = None
    page_size: int = Field(default=500, ge=1, le=1000)

    @field_validator("updated_since")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value and value.tzinfo is None else value


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="None on the last page")


class ListOpportunities(PageRequest):
    stages: list[Stage] | None = Field(default=None, description="Only these stages")


class ListAccounts(PageRequest):
    pass


class ListContacts(PageRequest):
    account_id: str | None = None


class ListAgents(PageRequest):
    pass


class ListProducts(PageRequest):
    pass


class ListActivities(PageRequest):
    opportunity_id: str | None = None


class OpportunityPage(Page[Opportunity]):
    pass


class AccountPage(Page[Account]):
    pass


class ContactPage(Page[Contact]):
    pass


class AgentPage(Page[SalesAgent]):
    pass


class ProductPage(Page[Product]):
    pass


class ActivityPage(Page[Activity]):
    pass


class OpportunityRef(BaseModel):
    opportunity_id: str


# Writes


class NextStepUpdate(BaseModel):
    """Set the free-text next step on a deal (None clears it)."""

    opportunity_id: str
    next_step: str | None = Field(default=None, max_length=500)


class NextStepChange(BaseModel):
    """One change of a deal's next step, kept so it can be reverted."""

    id: str
    opportunity_id: str
    previous_next_step: str | None
    next_step: str | None
    changed: bool = Field(description="False when the deal already had this next step")
    changed_at: dt.datetime
    reverted_at: dt.datetime | None = None


class NextStepChangeRef(BaseModel):
    change_id: str


# Loading data sets into a (mock) CRM


class ImportDataset(BaseModel):
    """A folder in the public "CRM Sales Opportunities" CSV format: sales_pipeline.csv,
    accounts.csv, products.csv, sales_teams.csv."""

    path: str
    replace: bool = Field(default=True, description="Clear the sales data before loading")


class SalesImportReport(BaseModel):
    """What an import or seed loaded (counts per record type), and what it had to add."""

    accounts: int = 0
    contacts: int = 0
    agents: int = 0
    products: int = 0
    opportunities: int = 0
    activities: int = 0
    notes: list[str] = Field(default_factory=list)
