"""The SMTP mail connector against a real SMTP server (aiosmtpd, started on a free local port),
then the store-only mode and the failure paths: refused recipients, a server that is down,
a server that defers, bad credentials."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from connectors.errors import AuthError, Rejected, Transient
from connectors.mail import SmtpMailConnector
from connectors.schemas import EmailSend, OutboxRef, OutboxSearch
from connectors.testing import MessagingConnectorTests, new_key


class Recorder:
    """An aiosmtpd handler that keeps what it receives and refuses or defers on request."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.refuse: set[str] = set()
        self.defer_data = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.defer_data:
            return "451 4.3.0 try again later"
        self.envelopes.append(envelope)
        raw = envelope.original_content or b""
        self.messages.append(message_from_bytes(raw, policy=default_policy))  # type: ignore[arg-type]
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = _free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def _config(tmp_path: Path, port: int | None, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'mail.db'}",
        "from_address": "support@shop.example",
        "from_name": "Shop Support",
        "timeout_s": 5,
    }
    if port is not None:
        config |= {"smtp_host": "127.0.0.1", "smtp_port": port}
    return config | extra


class TestSmtpMailDelivering(MessagingConnectorTests):
    connector_class = SmtpMailConnector

    @pytest.fixture
    def connector_config(self, tmp_path: Path, smtp_server: tuple[Recorder, int]) -> dict[str, Any]:
        return _config(tmp_path, smtp_server[1])

    @pytest.fixture
    def inbox(self, smtp_server: tuple[Recorder, int]) -> Recorder:
        return smtp_server[0]


class TestSmtpMailStoreOnly(MessagingConnectorTests):
    connector_class = SmtpMailConnector
    config: ClassVar[dict[str, Any]] = {"database_url": "sqlite:///{tmp_path}/mail.db"}


def _mail(**changes: Any) -> EmailSend:
    fields: dict[str, Any] = {
        "to": ["Noah Brown <noah.brown7922@example.com>"],
        "cc": ["orders@shop.example"],
        "subject": "Order #W7678072 cancelled",
        "body": "Hello Noah,\n\nyour order #W7678072 is cancelled.",
        "html_body": "<p>Hello Noah,</p><p>your order <b>#W7678072</b> is cancelled.</p>",
        "reply_to": "support@shop.example",
        "in_reply_to": "<question-1@mail.example.com>",
    }
    return EmailSend(**(fields | changes))


async def test_the_message_arrives_with_the_right_headers(
    tmp_path: Path, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    mail = SmtpMailConnector(_config(tmp_path, port))
    sent = await mail.send_email(_mail(), idempotency_key=new_key())
    assert (sent.status, sent.attempts, sent.sent_at is not None) == ("sent", 1, True)
    [envelope] = recorder.envelopes
    assert envelope.mail_from == "support@shop.example"
    assert sorted(envelope.rcpt_tos) == ["noah.brown7922@example.com", "orders@shop.example"]
    [message] = recorder.messages
    assert message["From"] == "Shop Support <support@shop.example>"
    assert message["To"] == "Noah Brown <noah.brown7922@example.com>"
    assert message["Subject"] == "Order #W7678072 cancelled"
    assert message["Message-ID"] == sent.message_id and sent.message_id.endswith("@shop.example>")
    assert message["In-Reply-To"] == message["References"] == "<question-1@mail.example.com>"
    assert message["Reply-To"] == "support@shop.example"
    assert message["X-BPA-Outbox-Id"] == sent.id
    assert message.get_body(("plain",)).get_content().strip().endswith("is cancelled.")  # type: ignore[union-attr]
    assert "<b>#W7678072</b>" in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    health = await mail.health()
    assert (health["mode"], health["delivers"], health["outbox"]) == ("smtp", True, {"sent": 1})


async def test_a_refused_recipient_is_rejected_and_recorded(
    tmp_path: Path, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    recorder.refuse = {"gone@example.com"}
    mail = SmtpMailConnector(_config(tmp_path, port))
    with pytest.raises(Rejected) as refused:
        await mail.send_email(_mail(to=["gone@example.com"], cc=[]), idempotency_key=new_key())
    assert refused.value.code == "recipient_refused"
    [failed] = await mail.list_outbox(OutboxSearch(status="failed"))
    assert failed.status == "failed" and "recipient_refused" in (failed.last_error or "")
    partly = await mail.send_email(
        _mail(to=["gone@example.com", "here@example.com"], cc=[]), idempotency_key=new_key()
    )
    assert partly.status == "sent" and partly.refused == ["gone@example.com"]
    assert recorder.envelopes[-1].rcpt_tos == ["here@example.com"]


async def test_a_server_that_is_down_is_transient_and_the_retry_sends_once(
    tmp_path: Path,
) -> None:
    port = _free_port()
    mail = SmtpMailConnector(_config(tmp_path, port))
    request, key = _mail(), new_key()
    with pytest.raises(Transient) as down:
        await mail.send_email(request, idempotency_key=key)
    assert down.value.code == "smtp_unreachable"
    with pytest.raises(Transient):
        await mail.health()
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sent = await mail.send_email(request, idempotency_key=key)
        again = await mail.send_email(request, idempotency_key=key)
    finally:
        controller.stop()
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)
    assert again == sent and len(recorder.messages) == 1
    assert recorder.messages[0]["Message-ID"] == sent.message_id


async def test_a_deferring_server_is_transient(
    tmp_path: Path, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    recorder.defer_data = True
    mail = SmtpMailConnector(_config(tmp_path, port))
    with pytest.raises(Transient) as deferred:
        await mail.send_email(_mail(), idempotency_key=new_key())
    assert deferred.value.code == "smtp_busy"


async def test_wrong_credentials_are_an_auth_error(
    tmp_path: Path, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    wrong = SmtpMailConnector(_config(tmp_path, port, username="bot", password="guess"))
    with pytest.raises(AuthError):
        await wrong.send_email(_mail(), idempotency_key=new_key())
    right = SmtpMailConnector(_config(tmp_path, port, username="bot", password="s3cret"))
    assert (await right.send_email(_mail(), idempotency_key=new_key())).status == "sent"
    assert len(recorder.messages) == 1


async def test_without_a_server_messages_are_stored_not_sent(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    mail = SmtpMailConnector(_config(tmp_path, None, drop_dir=str(drop)))
    health = await mail.health()
    assert (health["mode"], health["delivers"]) == ("store_only", False)
    assert "NOT delivered" in health["warning"]
    stored = await mail.send_email(_mail(), idempotency_key=new_key())
    assert (stored.status, stored.attempts, stored.sent_at) == ("stored", 0, None)
    eml = message_from_bytes((drop / f"{stored.id}.eml").read_bytes(), policy=default_policy)
    assert eml["Message-ID"] == stored.message_id and eml["Subject"] == stored.subject
    assert (await mail.get_message(OutboxRef(outbox_id=stored.id))) == stored


def test_a_bad_sender_address_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="from_address"):
        SmtpMailConnector(_config(tmp_path, None, from_address="support"))
