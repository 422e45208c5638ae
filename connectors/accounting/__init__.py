"""The mocked accounting system (vendors, purchase orders, bills, a double-entry ledger)."""

from connectors.accounting.connector import AccountingConfig, MockAccountingConnector

__all__ = ["AccountingConfig", "MockAccountingConnector"]
