"""A way to send messages to people: e-mail through an outbox that records delivery."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from connectors.base import Connector
from connectors.schemas import EmailSend, OutboxMessage, OutboxRef, OutboxSearch

__all__ = ["MessagingConnector"]


class MessagingConnector(Connector):
    """Sends e-mail and keeps an outbox of every message and what became of it.

    Action contracts (every implementation keeps them):

    - ``send_email`` with a key that already sent returns that message and sends nothing
      (the outbox is the record, so this holds across restarts). A server that cannot be
      reached, or answers with a temporary (4xx) error, is `Transient`: the outbox keeps the
      message as ``failed`` and the same call retries it with the same Message-ID. A server
      that refuses every recipient, or the message, for good (5xx) is `Rejected`
      (``recipient_refused``, ``message_refused``); bad credentials are `AuthError`.
    - A connector with nowhere to deliver keeps the message with status ``stored`` and says
      so in ``health()``: stored is not sent.
    - An unknown outbox id is `NotFound`, code ``unknown_message``.
    """

    kind: ClassVar[str] = "messaging"

    @abstractmethod
    async def get_message(self, request: OutboxRef) -> OutboxMessage: ...

    @abstractmethod
    async def list_outbox(self, request: OutboxSearch) -> list[OutboxMessage]: ...

    @abstractmethod
    async def send_email(self, request: EmailSend, *, idempotency_key: str) -> OutboxMessage: ...
