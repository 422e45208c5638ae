"""The IMAP inbox connector against a real IMAP server (a private Dovecot per test): new mail
is read without being changed, marked handled once, and never returned again; a recreated
mailbox, a refused login and an unreachable server are clear errors; IDLE wakes a waiter."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from connectors.errors import AuthError, Conflict, ConnectorConfigError, Rejected, Transient
from connectors.imap import ImapInboxConnector
from connectors.registry import validate_connector_class
from connectors.schemas.inbox import FetchUnprocessed, MarkProcessed, UnmarkProcessed, WaitForMail
from connectors.testing.dovecot import Dovecot, dovecot_server
from connectors.testing.inbox import InboxConnectorTests

__all__ = ["dovecot_server"]  # the fixture, re-exported for pytest


def mail(n: int, *, body: str = "Where is my order?", extra: str = "") -> bytes:
    return (
        f"From: Customer {n} <customer{n}@example.com>\r\n"
        f"To: support@example.com\r\n"
        f"Subject: Question {n}\r\n"
        f"Message-ID: <q{n}@example.com>\r\n"
        f"{extra}"
        f"\r\n{body}\r\n"
    ).encode()


@pytest_asyncio.fixture
async def inbox(dovecot_server: Dovecot) -> AsyncIterator[ImapInboxConnector]:
    connector = ImapInboxConnector(dovecot_server.connector_config())
    try:
        yield connector
    finally:
        await connector.aclose()


class TestImapConformance(InboxConnectorTests):
    connector_class = ImapInboxConnector

    @pytest.fixture
    def connector_config(self, dovecot_server: Dovecot) -> dict[str, Any]:
        return dovecot_server.connector_config()

    @pytest.fixture
    def mailbox(self, dovecot_server: Dovecot) -> Dovecot:
        return dovecot_server


def test_registers_as_the_imap_inbox() -> None:
    assert validate_connector_class(ImapInboxConnector, "imap") == []
    specs = ImapInboxConnector.action_specs()
    mark = specs["mark_processed"]
    assert mark.side_effect and mark.undo == "unmark_processed"
    assert not specs["fetch_unprocessed"].side_effect


async def test_new_mail_is_read_unchanged_then_marked_once(
    inbox: ImapInboxConnector, dovecot_server: Dovecot
) -> None:
    uids = [dovecot_server.append(mail(n)) for n in range(3)]
    batch = await inbox.fetch_unprocessed(FetchUnprocessed(limit=2))
    assert [m.uid for m in batch.messages] == uids[:2] and batch.remaining == 1
    assert batch.messages[0].raw.startswith(b"From: Customer 0") and batch.messages[0].complete
    assert "\\Seen" not in dovecot_server.keywords(uids[0])  # read with PEEK

    marked = await inbox.mark_processed(
        MarkProcessed(uidvalidity=batch.uidvalidity, uids=uids[:2]), idempotency_key="k1"
    )
    assert marked.uids == uids[:2] and marked.keywords == ["$BpaProcessed"]
    again = await inbox.mark_processed(
        MarkProcessed(uidvalidity=batch.uidvalidity, uids=uids[:2]), idempotency_key="k1"
    )
    assert again == marked
    assert "$BpaProcessed" in dovecot_server.keywords(uids[0])

    rest = await inbox.fetch_unprocessed(FetchUnprocessed())
    assert [m.uid for m in rest.messages] == [uids[2]] and rest.remaining == 0

    await inbox.mark_processed(
        MarkProcessed(uidvalidity=rest.uidvalidity, uids=[uids[2]], skipped=True),
        idempotency_key="k2",
    )
    assert {"$BpaProcessed", "$BpaSkipped"} <= dovecot_server.keywords(uids[2])
    assert (await inbox.fetch_unprocessed(FetchUnprocessed())).messages == []

    await inbox.unmark_processed(
        UnmarkProcessed(uidvalidity=rest.uidvalidity, uids=[uids[0]]), idempotency_key="u1"
    )
    back = await inbox.fetch_unprocessed(FetchUnprocessed())
    assert [m.uid for m in back.messages] == [uids[0]]


async def test_a_message_over_the_limit_comes_back_as_its_header_only(
    dovecot_server: Dovecot,
) -> None:
    connector = ImapInboxConnector(dovecot_server.connector_config(max_message_bytes=2000))
    try:
        uid = dovecot_server.append(mail(1, body="x" * 10_000))
        (message,) = (await connector.fetch_unprocessed(FetchUnprocessed())).messages
        assert (message.uid, message.complete) == (uid, False)
        assert message.size > 10_000 and len(message.raw) < 2000
        assert b"Message-ID: <q1@example.com>" in message.raw and b"xxxx" not in message.raw
    finally:
        await connector.aclose()


async def test_marks_under_an_old_uidvalidity_change_nothing(dovecot_server: Dovecot) -> None:
    dovecot_server.create_mailbox("Bills")
    connector = ImapInboxConnector(dovecot_server.connector_config(mailbox="Bills"))
    try:
        dovecot_server.append(mail(1), mailbox="Bills")
        old = await connector.fetch_unprocessed(FetchUnprocessed())
        dovecot_server.create_mailbox("Bills", replace=True)
        uid = dovecot_server.append(mail(2), mailbox="Bills")
        with pytest.raises(Conflict) as conflict:
            await connector.mark_processed(
                MarkProcessed(uidvalidity=old.uidvalidity, uids=[old.messages[0].uid]),
                idempotency_key="old",
            )
        assert conflict.value.code == "uidvalidity_changed"
        assert "$BpaProcessed" not in dovecot_server.keywords(uid, mailbox="Bills")
    finally:
        await connector.aclose()


async def test_a_refused_login_and_an_unreachable_server_are_clear_errors(
    dovecot_server: Dovecot,
) -> None:
    wrong = ImapInboxConnector(dovecot_server.connector_config(password="not-the-Password-1"))
    with pytest.raises(AuthError) as refused:
        await wrong.fetch_unprocessed(FetchUnprocessed())
    assert refused.value.code == "login_refused" and "not-the-Password-1" not in str(refused.value)
    await wrong.aclose()

    down = ImapInboxConnector(dovecot_server.connector_config(port=1, timeout_s=2))
    with pytest.raises(Transient) as unreachable:
        await down.fetch_unprocessed(FetchUnprocessed())
    assert unreachable.value.code == "unreachable" and "127.0.0.1:1" in unreachable.value.message
    await down.aclose()


async def test_without_a_host_nothing_is_read_and_health_says_so() -> None:
    connector = ImapInboxConnector({})
    health = await connector.health()
    assert health["ok"] is True and health["configured"] is False
    assert "BPA_CONNECTORS" in health["warning"]
    with pytest.raises(Rejected) as refused:
        await connector.fetch_unprocessed(FetchUnprocessed())
    assert refused.value.code == "not_configured"


def test_a_bad_config_is_described_without_its_password() -> None:
    with pytest.raises(ConnectorConfigError) as bad:
        ImapInboxConnector({"host": "imap.example.com", "password": "hunter2-Secret"})
    assert "username" in str(bad.value) and "hunter2-Secret" not in str(bad.value)


async def test_idle_wakes_the_waiter_without_blocking_the_event_loop(
    inbox: ImapInboxConnector, dovecot_server: Dovecot
) -> None:
    quiet = await inbox.wait_for_mail(WaitForMail(timeout_s=0.3))
    assert (quiet.method, quiet.news) == ("idle", False)

    ticks = 0

    async def count() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    counter = asyncio.create_task(count())
    timer = threading.Timer(0.3, dovecot_server.append, args=(mail(9),))
    timer.start()
    started = asyncio.get_running_loop().time()
    woke = await inbox.wait_for_mail(WaitForMail(timeout_s=20))
    elapsed = asyncio.get_running_loop().time() - started
    counter.cancel()
    timer.join()
    assert woke.news and woke.method == "idle" and elapsed < 10
    assert ticks >= 10  # the loop kept running while the thread waited
    # the connection is usable again after IDLE
    assert len((await inbox.fetch_unprocessed(FetchUnprocessed())).messages) == 1


async def test_without_idle_the_caller_is_told_to_poll(dovecot_server: Dovecot) -> None:
    connector = ImapInboxConnector(dovecot_server.connector_config(use_idle=False))
    assert (await connector.wait_for_mail(WaitForMail(timeout_s=30))).method == "none"
    await connector.aclose()
