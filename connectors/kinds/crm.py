"""A CRM: retail customers and orders (customer service) and the B2B sales pipeline."""

from __future__ import annotations

from typing import ClassVar

from connectors.base import Connector
from connectors.kinds.crm_retail import RetailCRMActions
from connectors.kinds.crm_sales import SalesCRMActions

__all__ = ["CRMConnector"]


class CRMConnector(RetailCRMActions, SalesCRMActions, Connector):
    """A CRM: every action belongs to an optional capability (``customers``, ``orders``,
    ``catalogue``, ``tasks``, ``pipeline``). A connector to a real CRM implements the ones
    its system has and lists them in ``capabilities``; the others answer `Unsupported`, and
    flows ask for what they need (`RunContext.connector(CRMConnector, needs=[...])`)."""

    kind: ClassVar[str] = "crm"
