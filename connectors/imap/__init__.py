"""Inbound e-mail from an IMAP mailbox (stdlib imaplib), marked handled with a keyword."""

from connectors.imap.connector import ImapConfig, ImapInboxConnector

__all__ = ["ImapConfig", "ImapInboxConnector"]
