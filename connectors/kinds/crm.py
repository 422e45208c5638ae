"""A CRM: retail customers and orders (customer service) and the B2B sales pipeline."""

from __future__ import annotations

from typing import ClassVar

from connectors.base import Connector
from connectors.kinds.crm_retail import RetailCRMActions
from connectors.kinds.crm_sales import SalesCRMActions

__all__ = ["CRMConnector"]


class CRMConnector(RetailCRMActions, SalesCRMActions, Connector):
    """Both halves of the CRM contract. A CRM that only has one half can raise
    `Rejected(code="unsupported")` from the other half's actions."""

    kind: ClassVar[str] = "crm"
