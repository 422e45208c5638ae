"""The behaviour every messaging connector shows, mocked or real (see `MessagingConnector`).

Override the ``inbox`` fixture to return what the receiving side got (an object with a
``messages`` list of `email.message.EmailMessage`, e.g. a local SMTP server the test starts);
with the default (None) the suite expects a store-only connector: status ``stored``.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from typing import Any, Protocol

import pytest

from connectors.base import Irreversible
from connectors.errors import Conflict, NotFound, Rejected
from connectors.kinds import MessagingConnector
from connectors.schemas import EmailSend, OutboxRef, OutboxSearch
from connectors.testing.suite import ConnectorTests, new_key, undo_call

__all__ = ["Inbox", "MessagingConnectorTests"]

_asyncio = pytest.mark.asyncio


class Inbox(Protocol):
    """What arrived at the receiving end, oldest first."""

    @property
    def messages(self) -> list[EmailMessage]: ...


def _mail(**changes: Any) -> EmailSend:
    tag = uuid.uuid4().hex[:8]
    fields: dict[str, Any] = {
        "to": [f"customer-{tag}@example.com"],
        "subject": f"Your order #W{tag}",
        "body": "Your order has been cancelled; the refund is on its way.\nKind regards",
        "headers": {"X-BPA-Ticket": f"TKT-{tag}"},
    }
    return EmailSend(**(fields | changes))


class MessagingConnectorTests(ConnectorTests):
    """Sending once per key, the outbox record, and refusing bad messages before sending."""

    @pytest.fixture
    def inbox(self) -> Inbox | None:
        """The receiving side; None: the connector under test only stores messages."""
        return None

    def _arrived(self, inbox: Inbox | None, subject: str) -> list[EmailMessage]:
        return [] if inbox is None else [m for m in inbox.messages if m["Subject"] == subject]

    def test_is_a_messaging_connector(self) -> None:
        assert issubclass(self.connector_class, MessagingConnector)
        specs = self.connector_class.action_specs()
        assert not specs["get_message"].side_effect and not specs["list_outbox"].side_effect

    @_asyncio
    async def test_a_sent_message_cannot_be_undone_an_unsent_one_may_be_recalled(
        self, connector: Any, inbox: Inbox | None
    ) -> None:
        request, key = _mail(), new_key()
        sent = await connector.send_email(request, idempotency_key=key)
        undone = await undo_call(connector, "send_email", request, sent, key)
        if sent.status == "sent":
            assert isinstance(undone, Irreversible), "an e-mail cannot be unsent"
            return
        if isinstance(undone, Irreversible):  # a connector may not recall at all
            return
        assert (await connector.get_message(OutboxRef(outbox_id=sent.id))).status == "recalled"
        assert self._arrived(inbox, request.subject) == []

    @_asyncio
    async def test_a_message_is_sent_once_per_key(
        self, connector: Any, inbox: Inbox | None
    ) -> None:
        request, key = _mail(), new_key()
        sent = await connector.send_email(request, idempotency_key=key)
        assert sent.status == ("stored" if inbox is None else "sent")
        assert (sent.to, sent.subject) == (request.to, request.subject)
        again = await connector.send_email(request, idempotency_key=key)
        assert again == sent
        assert await connector.get_message(OutboxRef(outbox_id=sent.id)) == sent
        if inbox is not None:
            arrived = self._arrived(inbox, request.subject)
            assert len(arrived) == 1
            assert arrived[0]["Message-ID"] == sent.message_id
            assert arrived[0]["To"] == request.to[0]
            assert arrived[0]["X-BPA-Ticket"] == request.headers["X-BPA-Ticket"]
            body = arrived[0].get_body(("plain",))
            assert body is not None
            assert request.body in body.get_content().replace("\r\n", "\n")

    @_asyncio
    async def test_a_key_reused_for_another_message_conflicts(
        self, connector: Any, inbox: Inbox | None
    ) -> None:
        key = new_key()
        await connector.send_email(_mail(), idempotency_key=key)
        other = _mail()
        with pytest.raises(Conflict) as refused:
            await connector.send_email(other, idempotency_key=key)
        assert refused.value.code == "idempotency_key_reused"
        assert self._arrived(inbox, other.subject) == []

    @_asyncio
    @pytest.mark.parametrize(
        "changes",
        [
            {"to": ["not an address"]},
            {"to": []},
            {"subject": "two\nlines"},
            {"body": ""},
            {"headers": {"Bcc": "everyone@example.com"}},
        ],
        ids=["bad-address", "no-recipient", "header-injection", "empty-body", "non-x-header"],
    )
    async def test_bad_messages_are_refused_before_sending(
        self, connector: Any, changes: dict[str, Any]
    ) -> None:
        fields = _mail().model_dump() | changes
        with pytest.raises(Rejected) as refused:
            await connector.send_email(fields, idempotency_key=new_key())
        assert refused.value.code == "invalid_request"

    @_asyncio
    async def test_the_outbox_lists_messages_by_recipient(self, connector: Any) -> None:
        first = await connector.send_email(_mail(), idempotency_key=new_key())
        await connector.send_email(_mail(), idempotency_key=new_key())
        found = await connector.list_outbox(OutboxSearch(to=first.to[0]))
        assert [m.id for m in found] == [first.id]
        with pytest.raises(NotFound):
            await connector.get_message(OutboxRef(outbox_id=f"missing-{uuid.uuid4().hex}"))
