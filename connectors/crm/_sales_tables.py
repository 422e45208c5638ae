"""The sales half's own tables (prefixed ``crm_s_``), one per record of `connectors.schemas`.

Column names equal the schema's field names, so a row maps to its record without glue.
There are no foreign keys on purpose: real CRMs hold deals whose account or agent is
missing, and the mock must keep such rows to be a fair test of a data-quality check.
Every table is indexed on ``(updated_at, id)``, the order its pages are read in.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Table
from sqlmodel import Field, SQLModel

from connectors.sqltypes import MoneyType, UtcDateTime

__all__ = [
    "SALES_TABLES",
    "CrmSAccount",
    "CrmSActivity",
    "CrmSAgent",
    "CrmSContact",
    "CrmSNextStepChange",
    "CrmSOpportunity",
    "CrmSProduct",
    "UtcDateTime",
    "table_of",
]


def _updated_at() -> Any:
    return Field(sa_type=UtcDateTime)


class CrmSAccount(SQLModel, table=True):
    __tablename__ = "crm_s_accounts"
    __table_args__ = (Index("ix_crm_s_accounts_page", "updated_at", "id"),)

    id: str = Field(primary_key=True)
    name: str = Field(index=True)
    sector: str | None = None
    size: str | None = None
    employees: int | None = None
    revenue: Decimal | None = Field(default=None, sa_type=MoneyType)
    year_established: int | None = None
    office_location: str | None = None
    region: str | None = None
    parent_id: str | None = None
    updated_at: dt.datetime = _updated_at()


class CrmSContact(SQLModel, table=True):
    __tablename__ = "crm_s_contacts"
    __table_args__ = (Index("ix_crm_s_contacts_page", "updated_at", "id"),)

    id: str = Field(primary_key=True)
    account_id: str = Field(index=True)
    name: str
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    updated_at: dt.datetime = _updated_at()


class CrmSAgent(SQLModel, table=True):
    __tablename__ = "crm_s_agents"
    __table_args__ = (Index("ix_crm_s_agents_page", "updated_at", "id"),)

    id: str = Field(primary_key=True)
    name: str
    manager: str | None = None
    regional_office: str | None = None
    updated_at: dt.datetime = _updated_at()


class CrmSProduct(SQLModel, table=True):
    __tablename__ = "crm_s_products"
    __table_args__ = (Index("ix_crm_s_products_page", "updated_at", "id"),)

    id: str = Field(primary_key=True)
    name: str
    series: str | None = None
    list_price: Decimal | None = Field(default=None, sa_type=MoneyType)
    updated_at: dt.datetime = _updated_at()


class CrmSOpportunity(SQLModel, table=True):
    __tablename__ = "crm_s_opportunities"
    __table_args__ = (Index("ix_crm_s_opportunities_page", "updated_at", "id"),)

    id: str = Field(primary_key=True)
    agent_id: str
    product: str
    account_id: str | None = None
    stage: str
    value: Decimal | None = Field(default=None, sa_type=MoneyType)
    currency: str = "USD"
    engage_date: dt.date | None = None
    close_date: dt.date | None = None
    next_step: str | None = None
    last_activity_date: dt.date | None = None
    updated_at: dt.datetime = _updated_at()


class CrmSActivity(SQLModel, table=True):
    __tablename__ = "crm_s_activities"
    __table_args__ = (Index("ix_crm_s_activities_page", "updated_at", "id"),)

    id: str = Field(primary_key=True)
    opportunity_id: str = Field(index=True)
    agent_id: str | None = None
    kind: str
    date: dt.date
    note: str | None = None
    updated_at: dt.datetime = _updated_at()


class CrmSNextStepChange(SQLModel, table=True):
    """Each next-step write, with the value it replaced, so it can be reverted."""

    __tablename__ = "crm_s_next_step_changes"

    id: str = Field(primary_key=True)
    opportunity_id: str = Field(index=True)
    previous_next_step: str | None = None
    next_step: str | None = None
    changed: bool
    changed_at: dt.datetime = Field(sa_type=UtcDateTime)
    reverted_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


_MODELS: tuple[type[SQLModel], ...] = (
    CrmSAccount,
    CrmSContact,
    CrmSAgent,
    CrmSProduct,
    CrmSOpportunity,
    CrmSActivity,
    CrmSNextStepChange,
)
SALES_TABLES: list[Table] = [m.__table__ for m in _MODELS]  # type: ignore[attr-defined]


def table_of(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]
