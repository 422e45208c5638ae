"""The mocked helpdesk (tickets with a workflow and an SLA, notes and replies)."""

from connectors.ticketing.connector import MockTicketingConnector, TicketingConfig

__all__ = ["MockTicketingConnector", "TicketingConfig"]
