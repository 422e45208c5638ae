"""A mailbox that mail arrives in: read what is new, and mark it handled exactly once."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from connectors.base import Connector
from connectors.schemas.inbox import (
    FetchUnprocessed,
    InboxBatch,
    MailWait,
    Marked,
    MarkProcessed,
    UnmarkProcessed,
    WaitForMail,
)

__all__ = ["InboxConnector"]


class InboxConnector(Connector):
    """Reads incoming mail and remembers, in the mailbox itself, which messages were handled.

    Action contracts (every implementation keeps them):

    - ``fetch_unprocessed`` returns the oldest messages that are not marked processed, oldest
      first, without changing them (not even the \\Seen flag), under the mailbox's current
      UIDVALIDITY. A message over the connector's size limit comes back with
      ``complete=False`` and only its header. Nothing is ever deleted or moved.
    - ``mark_processed`` marks the messages so no fetch returns them again; marking a message
      twice is harmless (the mark is its own record). Under a UIDVALIDITY that is no longer
      the mailbox's it marks nothing and raises `Conflict` (``uidvalidity_changed``): the
      UIDs may now name other messages. ``unmark_processed`` takes the marks back.
    - ``wait_for_mail`` waits for news where the server can push it (IMAP IDLE) and returns
      ``method="none"`` at once where it cannot: the caller then polls.
    - A connector with no mailbox configured says so in ``health()`` (``configured: false``)
      and refuses every action with `Rejected` (``not_configured``); a refused login is
      `AuthError`, an unreachable server `Transient`.
    """

    kind: ClassVar[str] = "inbox"

    @abstractmethod
    async def fetch_unprocessed(self, request: FetchUnprocessed) -> InboxBatch: ...

    @abstractmethod
    async def wait_for_mail(self, request: WaitForMail) -> MailWait: ...

    @abstractmethod
    async def mark_processed(self, request: MarkProcessed, *, idempotency_key: str) -> Marked: ...

    @abstractmethod
    async def unmark_processed(
        self, request: UnmarkProcessed, *, idempotency_key: str
    ) -> Marked: ...
