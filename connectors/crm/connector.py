"""MockCRMConnector: one SQL database, the retail half and the sales half of the CRM."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import SQLModel

from connectors.crm.retail import RetailActions
from connectors.crm.sales import SalesActions, SalesConfig
from connectors.kinds import CRMConnector
from connectors.sql import IdempotencyRecord, SqlConnectorMixin

__all__ = ["CRMConfig", "MockCRMConnector"]


class CRMConfig(BaseModel):
    database_url: str = Field(description="SQLAlchemy URL; the CRM's tables are created here")
    seed: str | None = Field(
        default=None, description="Fixtures directory loaded when the CRM is empty"
    )
    sales: SalesConfig = Field(
        default_factory=SalesConfig, description="Where the sales pipeline's data comes from"
    )


class MockCRMConnector(SqlConnectorMixin, RetailActions, SalesActions, CRMConnector):
    name: ClassVar[str] = "crm"
    config_model: ClassVar[type[BaseModel] | None] = CRMConfig
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"customers", "orders", "catalogue", "tasks", "pipeline"}
    )

    def __init__(self, config: CRMConfig | dict[str, Any], *, engine: Engine | None = None) -> None:
        self.config = CRMConfig.model_validate(config)
        self.use_engine(self.config.database_url, engine)
        tables = [IdempotencyRecord.__table__, *self._retail_tables(), *self._sales_tables()]  # type: ignore[attr-defined]
        SQLModel.metadata.create_all(self.engine, tables=tables)
        if self.config.seed:
            seed = Path(self.config.seed)
            self._seed_retail(seed)
            self._seed_sales(seed)

    async def health(self) -> dict[str, Any]:
        """Row counts of both halves: zero customers or deals usually means no seed loaded."""
        return {"ok": True, "retail": self.retail_counts(), "sales": self.sales_counts()}
