"""The behaviour every inbox connector shows (see `InboxConnector`), against a real mailbox.

Override the ``mailbox`` fixture to return something that delivers a raw message into the
mailbox the connector reads (`connectors.testing.dovecot.Dovecot` does, for IMAP):

```python
class TestMyInbox(InboxConnectorTests):
    connector_class = MyInboxConnector

    @pytest.fixture
    def mailbox(self, dovecot_server):
        return dovecot_server

    @pytest.fixture
    def connector_config(self, dovecot_server):
        return dovecot_server.connector_config()
```
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import pytest

from connectors.kinds.inbox import InboxConnector
from connectors.schemas.inbox import (
    FetchUnprocessed,
    MailWait,
    MarkProcessed,
    UnmarkProcessed,
    WaitForMail,
)
from connectors.testing.suite import ConnectorTests, new_key

__all__ = ["InboxConnectorTests", "Mailbox"]

_asyncio = pytest.mark.asyncio


class Mailbox(Protocol):
    """Delivers a message into the mailbox under test."""

    def append(self, raw: bytes) -> Any: ...


def _mail() -> tuple[bytes, str]:
    tag = uuid.uuid4().hex[:10]
    raw = (
        f"From: Customer <c-{tag}@example.com>\r\nTo: support@example.com\r\n"
        f"Subject: Question {tag}\r\nMessage-ID: <{tag}@example.com>\r\n\r\n"
        f"Where is order {tag}?\r\n"
    ).encode()
    return raw, tag


class InboxConnectorTests(ConnectorTests):
    """Unread mail is returned unchanged until it is marked; marks are idempotent and undone."""

    @pytest.fixture
    def mailbox(self) -> Mailbox:
        raise NotImplementedError("override the `mailbox` fixture: it delivers test messages")

    def test_is_an_inbox_whose_marks_can_be_taken_back(self) -> None:
        assert issubclass(self.connector_class, InboxConnector)
        specs = self.connector_class.action_specs()
        assert specs["mark_processed"].undo == "unmark_processed"
        assert not specs["fetch_unprocessed"].side_effect
        assert not specs["wait_for_mail"].side_effect

    @_asyncio
    async def test_mail_is_returned_until_marked_and_again_once_unmarked(
        self, connector: Any, mailbox: Mailbox
    ) -> None:
        first, second = _mail(), _mail()
        mailbox.append(first[0])
        mailbox.append(second[0])
        batch = await connector.fetch_unprocessed(FetchUnprocessed(limit=1))
        assert len(batch.messages) == 1 and batch.remaining >= 1
        assert first[1] in batch.messages[0].raw.decode()  # oldest first, unchanged
        assert batch.messages[0].complete

        request = MarkProcessed(uidvalidity=batch.uidvalidity, uids=[batch.messages[0].uid])
        key = new_key("mark")
        marked = await connector.mark_processed(request, idempotency_key=key)
        assert await connector.mark_processed(request, idempotency_key=key) == marked
        rest = await connector.fetch_unprocessed(FetchUnprocessed(limit=500))
        texts = [m.raw.decode(errors="replace") for m in rest.messages]
        assert not any(first[1] in t for t in texts) and any(second[1] in t for t in texts)

        undo = UnmarkProcessed(uidvalidity=batch.uidvalidity, uids=[batch.messages[0].uid])
        await connector.unmark_processed(undo, idempotency_key=new_key("unmark"))
        back = await connector.fetch_unprocessed(FetchUnprocessed(limit=500))
        assert any(first[1] in m.raw.decode(errors="replace") for m in back.messages)

    @_asyncio
    async def test_waiting_for_mail_returns(self, connector: Any) -> None:
        waited = await connector.wait_for_mail(WaitForMail(timeout_s=0.2))
        assert isinstance(waited, MailWait) and waited.method in ("idle", "none")
