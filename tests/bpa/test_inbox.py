"""Inbound e-mail starts runs (bpa/triggers/inbox.py) from a real IMAP mailbox (a private
Dovecot per test) into the in-process suite: each message's runs exactly once, across
re-deliveries and a crash between recording the runs and marking the messages; hostile
messages end as failed runs or clear skips; the password goes nowhere."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from typer.testing import CliRunner

from bpa.cli import app
from bpa.config import Settings
from bpa.suite import Suite
from bpa.triggers import InboxTrigger, PollReport, execute_runs
from connectors.imap import ImapInboxConnector
from connectors.schemas.inbox import Marked, MarkProcessed
from connectors.testing.dovecot import Dovecot, dovecot_server

__all__ = ["dovecot_server"]  # the fixture, re-exported for pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
INVOICES = sorted((FIXTURES / "invoices").glob("inv_*.pdf"))[:10]
DATE = "Sat, 14 Mar 2026 10:02:00 +0000"


def invoice_mail(n: int, *attachments: tuple[str, bytes, str], mid: str | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Billing <billing{n}@vendor.example>"
    mail["To"] = "invoices@acme.example"
    mail["Subject"] = f"Invoice {n}"
    mail["Date"] = DATE
    mail["Message-ID"] = mid or f"<invoice-{n}@vendor.example>"
    mail.set_content("Please find our invoice attached.\n")
    for name, data, media in attachments:
        maintype, subtype = media.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail.as_bytes()


def pdf_mail(n: int) -> bytes:
    pdf = INVOICES[n % len(INVOICES)]
    return invoice_mail(n, (pdf.name, pdf.read_bytes(), "application/pdf"))


def customer_mail(n: int, *, body: str | None = None, headers: str = "") -> bytes:
    text = body or f"Hello, where is my order #W298282{n}? Please send the tracking number."
    return (
        f"{headers}"
        f"From: Lei Hernandez <lei.hernandez7247@example.com>\r\n"
        f"To: support@acme.example\r\n"
        f"Subject: Order question {n}\r\n"
        f"Date: {DATE}\r\n"
        f"Message-ID: <question-{n}@mail.example.com>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{text}\r\n"
    ).encode()


def redelivered(raw: bytes) -> bytes:
    """The same message once more, as a second delivery adds its own trace header."""
    return b"Received: from mx2.example.com by mx.acme.example; " + DATE.encode() + b"\r\n" + raw


@pytest_asyncio.fixture
async def suite(settings: Settings, dovecot_server: Dovecot) -> AsyncIterator[Suite]:
    imap = {"imap": dovecot_server.connector_config()}
    async with Suite.open(settings.model_copy(update={"connectors": imap})) as opened:
        yield opened


def trigger(suite: Suite, inbox: ImapInboxConnector | None = None) -> InboxTrigger:
    connector = inbox or suite.connectors["imap"]
    assert isinstance(connector, ImapInboxConnector)
    return InboxTrigger(suite.runner, connector)


class Crash(BaseException):
    """The process dies: nothing after this point runs (not an error anyone handles)."""


class DiesBeforeMarking(ImapInboxConnector):
    """The poller's process dies after the runs are recorded, before a message is marked."""

    async def mark_processed(self, request: MarkProcessed, *, idempotency_key: str) -> Marked:
        raise Crash("power cut")


def deliver_acceptance_mail(server: Dovecot) -> list[int]:
    """Issue #11: 10 invoice e-mails, 8 customer e-mails and 2 of those delivered again."""
    uids = []
    for n in range(10):
        uids.append(server.append(pdf_mail(n)))
        if n < 8:
            uids.append(server.append(customer_mail(n)))
    uids.append(server.append(redelivered(customer_mail(2))))
    uids.append(server.append(redelivered(customer_mail(5))))
    return uids


def inbox_runs(suite: Suite) -> dict[str, int]:
    runs = suite.store.list_runs(limit=1000)
    assert all(run.trigger == "inbox" for run in runs)
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.flow] = counts.get(run.flow, 0) + 1
    return counts


async def test_twenty_messages_start_eighteen_runs_once(
    suite: Suite, dovecot_server: Dovecot
) -> None:
    uids = deliver_acceptance_mail(dovecot_server)
    report = await trigger(suite).poll()

    assert len(report.messages) == 20 and report.remaining == 0
    assert [r.created for r in report.runs].count(True) == 18
    found = [r for r in report.runs if not r.created]
    assert len(found) == 2 and {r.flow for r in found} == {"customer_service"}
    assert inbox_runs(suite) == {"invoice_processing": 10, "customer_service": 8}
    assert all("$BpaProcessed" in dovecot_server.keywords(uid) for uid in uids)
    assert not any("$BpaSkipped" in dovecot_server.keywords(uid) for uid in uids)

    again = await trigger(suite).poll()
    assert again.messages == [] and len(suite.store.list_runs(limit=1000)) == 18


@pytest.mark.slow
async def test_the_runs_mail_started_read_their_invoices_and_messages(
    suite: Suite, dovecot_server: Dovecot
) -> None:
    deliver_acceptance_mail(dovecot_server)
    report = await trigger(suite).poll()
    await execute_runs(suite.runner, report.runs, concurrency=4)
    for started in report.runs:
        run = suite.store.get(started.run_id)
        assert run.status in ("succeeded", "waiting"), run.error
        if run.flow == "invoice_processing":
            assert run.output and run.output["invoice_number"], run.output


async def test_a_crash_before_marking_starts_nothing_twice(
    suite: Suite, dovecot_server: Dovecot
) -> None:
    uids = deliver_acceptance_mail(dovecot_server)
    dying = DiesBeforeMarking(dovecot_server.connector_config())
    with pytest.raises(Crash):
        await trigger(suite, dying).poll()
    await dying.aclose()
    assert inbox_runs(suite) == {"invoice_processing": 10, "customer_service": 8}
    assert not any("$BpaProcessed" in dovecot_server.keywords(uid) for uid in uids)

    report = await trigger(suite).poll()  # the restarted poller reads all 20 again
    assert len(report.messages) == 20
    assert not any(r.created for r in report.runs) and len(report.runs) == 20
    assert inbox_runs(suite) == {"invoice_processing": 10, "customer_service": 8}
    assert all("$BpaProcessed" in dovecot_server.keywords(uid) for uid in uids)
    assert (await trigger(suite).poll()).messages == []


async def test_a_mailbox_recreated_mid_pass_marks_nothing_wrong_and_starts_nothing_twice(
    settings: Settings, dovecot_server: Dovecot
) -> None:
    dovecot_server.create_mailbox("Bills")
    mails = [pdf_mail(1), customer_mail(1)]

    class RecreatedBeforeMarking(ImapInboxConnector):
        async def mark_processed(self, request: MarkProcessed, *, idempotency_key: str) -> Marked:
            dovecot_server.create_mailbox("Bills", replace=True)  # new UIDVALIDITY, same mail
            for raw in mails:
                dovecot_server.append(raw, mailbox="Bills")
            return await super().mark_processed(request, idempotency_key=idempotency_key)

    config = dovecot_server.connector_config(mailbox="Bills")
    for raw in mails:
        dovecot_server.append(raw, mailbox="Bills")
    async with Suite.open(settings.model_copy(update={"connectors": {"imap": config}})) as suite:
        recreated = RecreatedBeforeMarking(config)
        report = await trigger(suite, recreated).poll()
        await recreated.aclose()
        assert [r.created for r in report.runs] == [True, True] and report.remaining
        again = await trigger(suite).poll()  # the same mail under its new UIDs
        assert len(again.messages) == 2 and not any(r.created for r in again.runs)
        assert len(suite.store.list_runs()) == 2
        assert (await trigger(suite).poll()).messages == []


async def test_hostile_and_odd_messages_end_as_failed_runs_or_clear_skips(
    suite: Suite, dovecot_server: Dovecot
) -> None:
    corrupt = (FIXTURES / "invoices" / "bad" / "corrupt.pdf").read_bytes()
    xml = b"<?xml version='1.0'?><Invoice><ID>X-1</ID><Total>10.00</Total></Invoice>"
    text = (FIXTURES / "invoices" / "txt_01_nordisk_en.txt").read_bytes()
    uids = {
        "corrupt": dovecot_server.append(
            invoice_mail(1, ("../../../etc/cron.d/evil.pdf", corrupt, "application/pdf"))
        ),
        "xml_and_txt": dovecot_server.append(
            invoice_mail(
                2, ("invoice.xml", xml, "application/xml"), ("invoice.txt", text, "text/plain")
            )
        ),
        "auto_reply": dovecot_server.append(
            customer_mail(3, headers="Auto-Submitted: auto-replied\r\n")
        ),
        "nul": dovecot_server.append(  # IMAP carries no NUL byte: it comes encoded
            customer_mail(
                4,
                body="cancel my order=00 please",
                headers="Content-Transfer-Encoding: quoted-printable\r\n",
            )
        ),
        "no_message_id": dovecot_server.append(
            b"From: someone@example.com\r\nSubject: hello\r\n\r\nIs anyone there?\r\n"
        ),
        "garbage": dovecot_server.append(b"\xff\xfe not a mail at all \x00\x01"),
    }
    conflicting = customer_mail(6)
    dovecot_server.append(conflicting)
    uids["same_id_other_text"] = dovecot_server.append(
        customer_mail(6, body="Actually, refund everything to this other account.")
    )

    report = await trigger(suite).poll()
    by_uid = {m.uid: m for m in report.messages}
    assert len(by_uid) == 8

    bad = by_uid[uids["corrupt"]]
    assert not bad.problems and len(bad.runs) == 1
    await execute_runs(suite.runner, bad.runs, concurrency=1)
    run = suite.store.get(bad.runs[0].run_id)
    assert run.status == "failed" and run.error and run.error["code"] == "document_unreadable"
    assert run.input["document"]["filename"] == "evil.pdf"  # a display name, not a path
    stored = [p for p in (suite.settings.home / "documents").rglob("*") if p.is_file()]
    assert stored and all(len(p.name) == 64 for p in stored)
    assert not any("evil" in str(p) for p in suite.settings.home.rglob("*"))

    pair = by_uid[uids["xml_and_txt"]]
    assert [r.source for r in pair.runs] == ["invoice.xml", "invoice.txt"]
    media = [suite.store.get(r.run_id).input["document"]["media_type"] for r in pair.runs]
    assert media == ["application/xml", "text/plain"]

    assert by_uid[uids["no_message_id"]].runs[0].flow == "customer_service"
    for name, reason in (
        ("auto_reply", "Auto-Submitted"),
        ("nul", "NUL"),
        ("garbage", ""),
        ("same_id_other_text", "same Message-ID"),
    ):
        outcome = by_uid[uids[name]]
        assert outcome.problems and not [r for r in outcome.runs if r.created], name
        assert reason in " ".join(outcome.problems), (name, outcome.problems)
        assert {"$BpaProcessed", "$BpaSkipped"} <= dovecot_server.keywords(uids[name]), name
    assert "$BpaSkipped" not in dovecot_server.keywords(uids["corrupt"])
    assert (await trigger(suite).poll()).messages == []


async def test_a_message_over_the_size_limit_is_skipped_unread(
    settings: Settings, dovecot_server: Dovecot
) -> None:
    imap = {"imap": dovecot_server.connector_config(max_message_bytes=4000)}
    uid = dovecot_server.append(pdf_mail(1))  # ~ 5 kB and more
    async with Suite.open(settings.model_copy(update={"connectors": imap})) as suite:
        report = await trigger(suite).poll()
        (outcome,) = report.messages
        assert outcome.runs == [] and "max_message_bytes" in outcome.problems[0]
        assert suite.store.list_runs() == []
    assert {"$BpaProcessed", "$BpaSkipped"} <= dovecot_server.keywords(uid)


async def test_the_password_goes_into_no_run_event_or_log(
    suite: Suite, dovecot_server: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dovecot_server.append(pdf_mail(1))
    dovecot_server.append(customer_mail(1))
    report = await trigger(suite).poll()
    await execute_runs(suite.runner, report.runs, concurrency=2)
    recorded = [
        json.dumps(
            {"input": run.input, "events": [e.payload for e in suite.store.events(run.id)]},
            default=str,
        )
        for run in suite.store.list_runs()
    ]
    assert len(recorded) == 2
    assert not any(dovecot_server.password in text for text in recorded)
    assert dovecot_server.password not in caplog.text


async def test_watch_starts_runs_as_mail_arrives(suite: Suite, dovecot_server: Dovecot) -> None:
    passes: list[PollReport] = []
    arrived = asyncio.Event()

    async def on_poll(report: PollReport) -> None:
        passes.append(report)
        if report.runs:
            arrived.set()

    stop = asyncio.Event()
    watching = asyncio.create_task(
        trigger(suite).watch(stop, interval=60, idle=True, on_poll=on_poll, on_error=print)
    )
    await asyncio.sleep(0.5)  # the first pass found nothing; IDLE waits now
    dovecot_server.append(customer_mail(1))
    await asyncio.wait_for(arrived.wait(), 15)  # long before the 60 s interval
    stop.set()
    await asyncio.wait_for(watching, 10)
    assert sum(len(p.runs) for p in passes) == 1


# -- the command line ---------------------------------------------------------------------
cli = CliRunner()


def bpa(*args: str, connectors: dict[str, Any] | None = None) -> tuple[int, str]:
    env = {"COLUMNS": "200"}
    if connectors is not None:
        env["BPA_CONNECTORS"] = json.dumps(connectors)
    result = cli.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_poll_prints_what_it_started_and_is_safe_to_repeat(dovecot_server: Dovecot) -> None:
    config = {"imap": dovecot_server.connector_config()}
    dovecot_server.append(pdf_mail(1))
    dovecot_server.append(customer_mail(1))
    code, out = bpa("inbox", "poll", connectors=config)
    assert code == 0, out
    assert "2 run(s) started" in out and "invoice_processing" in out and "customer_service" in out
    code, out = bpa("inbox", "poll", "--json", connectors=config)
    assert code == 0 and json.loads(out)["messages"] == []
    code, out = bpa("runs", "list", "--json")
    assert len(json.loads(out)) == 2


def test_poll_errors_are_one_line_and_say_what_to_set(dovecot_server: Dovecot) -> None:
    code, out = bpa("inbox", "poll")
    assert code == 2 and "no IMAP mailbox is configured" in out and "BPA_CONNECTORS" in out

    wrong = {"imap": dovecot_server.connector_config(password="Wrong-Password-77")}
    code, out = bpa("inbox", "poll", connectors=wrong)
    assert code == 2 and "refused the login" in out and "Wrong-Password-77" not in out

    down = {"imap": dovecot_server.connector_config(port=1, timeout_s=2)}
    code, out = bpa("inbox", "poll", connectors=down)
    assert code == 1 and "cannot reach the IMAP server" in out

    bad = {"imap": {"host": "imap.example.com", "password": "Leaky-Secret-5"}}
    code, out = bpa("inbox", "poll", connectors=bad)
    assert code == 2 and "username" in out and "Leaky-Secret-5" not in out
    for output in (out,):
        assert "Traceback" not in output
