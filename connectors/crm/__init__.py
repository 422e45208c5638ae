"""The mocked CRM: persistent, validating, seeded from fixtures."""

from connectors.crm.connector import CRMConfig, MockCRMConnector

__all__ = ["CRMConfig", "MockCRMConnector"]
