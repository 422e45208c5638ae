"""A base class per kind of business system; a connector implements one kind's actions."""

from connectors.kinds.accounting import AccountingConnector
from connectors.kinds.crm import CRMConnector
from connectors.kinds.messaging import MessagingConnector
from connectors.kinds.ticketing import TicketingConnector

__all__ = ["AccountingConnector", "CRMConnector", "MessagingConnector", "TicketingConnector"]
