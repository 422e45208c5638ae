"""The connector conformance suite: subclass the class for your connector's kind.

```python
from connectors.testing import AccountingConnectorTests

class TestMyLedger(AccountingConnectorTests):
    connector_class = MyLedgerConnector
    config = {"database_url": "sqlite:///{tmp_path}/ledger.db"}
    vendor_id = "V-1001"
```

Needs pytest and pytest-asyncio.
"""

import pytest

# The suite's asserts live in this package, not in the user's test module: rewrite them too,
# so a failing contract shows the values that broke it.
pytest.register_assert_rewrite(
    "connectors.testing.suite",
    "connectors.testing.accounting",
    "connectors.testing.crm_sales",
    "connectors.testing.crm_retail",
    "connectors.testing._crm_retail_orders",
    "connectors.testing.ticketing",
    "connectors.testing.messaging",
)

from connectors.testing.accounting import AccountingConnectorTests  # noqa: E402
from connectors.testing.crm_retail import RetailCRMConnectorTests  # noqa: E402
from connectors.testing.crm_sales import SalesCRMConnectorTests  # noqa: E402
from connectors.testing.messaging import MessagingConnectorTests  # noqa: E402
from connectors.testing.suite import ConnectorTests, new_key, undo_call  # noqa: E402
from connectors.testing.ticketing import TicketingConnectorTests  # noqa: E402

__all__ = [
    "AccountingConnectorTests",
    "ConnectorTests",
    "MessagingConnectorTests",
    "RetailCRMConnectorTests",
    "SalesCRMConnectorTests",
    "TicketingConnectorTests",
    "new_key",
    "undo_call",
]
