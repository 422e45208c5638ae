"""E-mail over SMTP, recorded in an outbox (or only stored when no server is configured)."""

from connectors.mail.connector import MailConfig, SmtpMailConnector

__all__ = ["MailConfig", "SmtpMailConnector"]
