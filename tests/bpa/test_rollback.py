"""Rolling a run back (bpa/rollback.py): each built-in side effect of the accounting system,
the helpdesk and the mail outbox undone, with the mocked systems' rows compared before and
after; and what a rollback promises whatever it undoes: an audited undo per effect, a
second rollback that does nothing, a rollback that dies or breaks half-way and is run again
undoing nothing twice, a failed undo that leaves the run `rollback_failed` with what is
left. The CRM's actions are in test_rollback_crm.py, whole flows in test_rollback_flows.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from rollback_kit import (
    Acting,
    Breaks,
    Diff,
    die_rolling_back,
    diff,
    iter_events,
    roll_back,
    rollback_settings,
    seeded_home,
    snapshot,
)
from typer.testing import CliRunner

from bpa.cli import app
from bpa.config import Settings
from bpa.errors import InvalidInput, RunStateError
from bpa.rollback import RollbackReport
from bpa.runs.status import RunStatus
from bpa.suite import Suite
from connectors.schemas import (
    BillCreate,
    BillLine,
    BillRef,
    BillVoid,
    EmailSend,
    JournalEntryCreate,
    JournalEntryRef,
    JournalLine,
    PeriodRef,
    Requester,
    TicketClose,
    TicketCommentCreate,
    TicketCreate,
    TicketUpdate,
)

__all__ = ["rollback_settings", "seeded_home"]  # fixtures, re-exported for pytest

OPEN_DAY = dt.date(2031, 3, 10)  # in a period the fixtures leave open


def bill_request(number: str = "RB-1") -> BillCreate:
    return BillCreate(
        vendor_id="V-1001",
        invoice_number=number,
        invoice_date=OPEN_DAY,
        currency="EUR",
        subtotal=Decimal("100.00"),
        tax=Decimal("19.00"),
        total=Decimal("119.00"),
        lines=[
            BillLine(description="Paper", unit_price=Decimal("60.00"), amount=Decimal("60.00")),
            BillLine(description="Toner", unit_price=Decimal("40.00"), amount=Decimal("40.00")),
        ],
    )


def ticket_request(ref: str = "rb-ticket") -> TicketCreate:
    return TicketCreate(
        subject="Where is my order?",
        requester=Requester(email="ann@example.com"),
        status="open",
        external_ref=ref,
    )


def outcomes(report: RollbackReport) -> list[tuple[str, str]]:
    return [(step.action, step.outcome) for step in report.steps]


async def rolled_back_cleanly(
    suite: Suite, run: Acting, before: dict[str, Any]
) -> tuple[RollbackReport, Diff]:
    """Finish the run, roll it back, and check what every rollback promises: the run is
    `rolled_back`; each undone effect has one audited undo naming it; a second rollback
    does nothing (no event, no row changed). Returns the report and the tables' changes."""
    run.finish()
    report = await roll_back(suite, run.id)
    after = snapshot(suite.engine)
    assert report.status == RunStatus.rolled_back, report.lines()
    assert suite.store.get(run.id).status == RunStatus.rolled_back
    undos = [p for p in iter_events(suite, run.id, "connector_call") if p.get("undoes")]
    assert all(p["ok"] for p in undos)
    named = Counter(key for p in undos for key in p["undoes"])
    for step in report.steps:
        assert named[step.key] == (step.outcome == "undone"), (step.line(), named)
    kinds = [e.kind for e in suite.store.events(run.id)]
    assert kinds.count("rollback_started") == kinds.count("rollback_finished") == 1

    trail = len(suite.store.events(run.id))
    again = await roll_back(suite, run.id)
    assert again.noop and again.status == RunStatus.rolled_back
    assert {s.outcome for s in again.steps} <= {"already_undone", "cannot_undo"}
    assert len(suite.store.events(run.id)) == trail, "a second rollback records nothing"
    assert snapshot(suite.engine) == after, "a second rollback changes nothing"
    return report, diff(before, after)


# -- accounting --------------------------------------------------------------------------------


async def test_a_created_bill_is_voided_and_its_draft_entry_dropped(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        before = snapshot(suite.engine)
        bill = await run.accounting.create_bill(bill_request(), idempotency_key=run.key("b"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("create_bill", "undone")] and report.steps[0].record == bill.id
    assert changes.removed == changes.changed == {}
    # An accounting system keeps a void bill (its number may be billed again); the draft
    # journal entry is gone.
    assert changes.counts() == {"acct_bills": 1, "acct_bill_lines": 2}
    [row] = changes.added["acct_bills"]
    assert (row["status"], row["void_reason"], row["journal_entry_id"]) == (
        "void",
        "test rollback",
        None,
    )


async def test_a_posted_bill_is_voided_and_its_entry_reversed(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        earlier = Acting(suite)
        bill = await earlier.accounting.create_bill(bill_request(), idempotency_key="setup")
        run = Acting(suite)
        before = snapshot(suite.engine)
        await run.accounting.post_bill(BillRef(bill_id=bill.id), idempotency_key=run.key("p"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("post_bill", "undone")]
    # A posted bill is not "unposted" (no AP system does): it is voided, and its entry
    # reversed by a mirror entry. The draft the run found is void now.
    assert changes.removed == {}
    assert set(changes.changed) == {"acct_bills", "acct_journal_entries"}
    [(was, now)] = changes.changed["acct_bills"]
    assert (was["status"], now["status"]) == ("draft", "void") and now["reversal_entry_id"]
    [(was_entry, now_entry)] = changes.changed["acct_journal_entries"]
    assert (was_entry["status"], now_entry["status"]) == ("draft", "reversed")
    assert changes.counts() == {"acct_journal_entries": 1, "acct_journal_lines": 3}
    assert changes.added["acct_journal_entries"][0]["reverses"] == was_entry["id"]


async def test_a_journal_entry_is_reversed(rollback_settings: Settings) -> None:
    entry = JournalEntryCreate(
        date=OPEN_DAY,
        currency="EUR",
        memo="accrual",
        lines=[
            JournalLine(account="6000", debit=Decimal("50.00")),
            JournalLine(account="1600", credit=Decimal("50.00")),
        ],
    )
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        before = snapshot(suite.engine)
        await run.accounting.create_journal_entry(entry, idempotency_key=run.key("je"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("create_journal_entry", "undone")]
    assert changes.removed == changes.changed == {}
    # Posted entries are never deleted: the entry stays, reversed, beside its mirror.
    assert changes.counts() == {"acct_journal_entries": 2, "acct_journal_lines": 4}
    entries = {row["status"]: row for row in changes.added["acct_journal_entries"]}
    assert entries["posted"]["reverses"] == entries["reversed"]["id"]
    net: Counter[str] = Counter()
    for line in changes.added["acct_journal_lines"]:
        net[line["account"]] += Decimal(line["debit"]) - Decimal(line["credit"])
    assert set(net.values()) == {Decimal(0)}


async def test_a_closed_period_is_reopened(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        before = snapshot(suite.engine)
        close = PeriodRef(period="2031-07")
        await run.accounting.close_period(close, idempotency_key=run.key("c"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("close_period", "undone")]
    assert changes.removed == changes.changed == {}
    # A month never closed has no row; a reopened one has: both mean open.
    assert changes.added == {"acct_periods": [{"period": "2031-07", "status": "open"}]}


async def test_a_reopened_period_is_closed_again(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        before = snapshot(suite.engine)
        reopen = PeriodRef(period="2025-01")  # closed in the fixtures
        await run.accounting.reopen_period(reopen, idempotency_key=run.key("o"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("reopen_period", "undone")]
    assert changes == Diff(), "exactly as before"


# -- ticketing ---------------------------------------------------------------------------------


async def test_a_created_ticket_is_closed(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        before = snapshot(suite.engine)
        await run.ticketing.create_ticket(ticket_request(), idempotency_key=run.key("t"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("create_ticket", "undone")]
    assert changes.removed == changes.changed == {}
    # A helpdesk keeps closed tickets (the customer may have been told the number).
    assert changes.counts() == {"tkt_tickets": 1, "tkt_comments": 1}
    assert changes.added["tkt_tickets"][0]["status"] == "closed"
    assert changes.added["tkt_comments"][0]["body"] == "Closed: test rollback"


async def test_a_ticket_update_is_reverted(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        ticket = await Acting(suite).ticketing.create_ticket(
            ticket_request(), idempotency_key="setup"
        )
        run = Acting(suite)
        before = snapshot(suite.engine)
        update = TicketUpdate(
            ticket_id=ticket.id, status="solved", priority="urgent", assignee="bo", tags=["x"]
        )
        await run.ticketing.update_ticket(update, idempotency_key=run.key("u"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("update_ticket", "undone")]
    assert changes.removed == changes.changed == {}, "status, SLA, solved_at... as before"
    [change] = changes.added["tkt_ticket_changes"]  # the helpdesk's history of the update
    assert changes.counts() == {"tkt_ticket_changes": 1} and change["reverted_at"] is not None


async def test_a_note_is_withdrawn(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        ticket = await Acting(suite).ticketing.create_ticket(
            ticket_request(), idempotency_key="setup"
        )
        run = Acting(suite)
        before = snapshot(suite.engine)
        note = TicketCommentCreate(ticket_id=ticket.id, body="internal")
        await run.ticketing.add_note(note, idempotency_key=run.key("n"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("add_note", "undone")]
    assert changes.removed == changes.changed == {}
    # A withdrawn note stays in the ticket's trail, marked removed; readers no longer see it.
    [comment] = changes.added["tkt_comments"]
    assert changes.counts() == {"tkt_comments": 1} and comment["removed_at"] is not None


# -- mail --------------------------------------------------------------------------------------


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    """A real SMTP server that accepts every message."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def mail() -> EmailSend:
    return EmailSend(to=["ann@example.com"], subject="Your order", body="It is on its way.")


async def test_an_unsent_mail_is_recalled(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        before = snapshot(suite.engine)
        stored = await run.mail.send_email(mail(), idempotency_key=run.key("m"))
        assert stored.status == "stored"  # no SMTP host: kept in the outbox, not delivered
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("send_email", "undone")]
    assert changes.removed == changes.changed == {}
    [message] = changes.added["mail_outbox"]  # the outbox keeps every message
    assert changes.counts() == {"mail_outbox": 1} and message["status"] == "recalled"


async def test_a_sent_mail_is_listed_as_one_that_cannot_be_unsent(
    rollback_settings: Settings, smtp_port: int
) -> None:
    smtp = {"mail": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port}}
    settings = rollback_settings.model_copy(update={"connectors": smtp})
    async with Suite.open(settings, preload_flows=False) as suite:
        run = Acting(suite)
        sent = await run.mail.send_email(mail(), idempotency_key=run.key("m"))
        assert sent.status == "sent"
        before = snapshot(suite.engine)
        report, changes = await rolled_back_cleanly(suite, run, before)
    [step] = report.steps
    assert (step.action, step.outcome) == ("send_email", "cannot_undo")
    assert "cannot be unsent" in step.detail
    assert changes == Diff()


# -- the irreversible ones: listed, not failed -------------------------------------------------


async def _irreversible(suite: Suite, run: Acting, action: str) -> None:
    """Make one call of `action` in `run` (its subject made beforehand, outside the run)."""
    setup = Acting(suite)
    if action in ("void_bill", "reverse_journal_entry"):
        bill = await setup.accounting.create_bill(bill_request("RB-9"), idempotency_key="s1")
        if action == "void_bill":
            request: Any = BillVoid(bill_id=bill.id, reason="wrong")
        else:
            entry = await setup.accounting.create_journal_entry(
                JournalEntryCreate(
                    date=OPEN_DAY,
                    currency="EUR",
                    memo="m",
                    lines=[
                        JournalLine(account="6000", debit=Decimal(1)),
                        JournalLine(account="1600", credit=Decimal(1)),
                    ],
                ),
                idempotency_key="s2",
            )
            request = JournalEntryRef(entry_id=entry.id)
        await getattr(run.accounting, action)(request, idempotency_key=run.key(action))
        return
    ticket = await setup.ticketing.create_ticket(ticket_request("s"), idempotency_key="s1")
    if action == "close_ticket":
        request = TicketClose(ticket_id=ticket.id, reason="done")
    elif action == "add_reply":
        request = TicketCommentCreate(ticket_id=ticket.id, body="Hello")
    elif action == "remove_note":
        noted = await setup.ticketing.add_note(
            TicketCommentCreate(ticket_id=ticket.id, body="n"), idempotency_key="s2"
        )
        request = {"ticket_id": ticket.id, "comment_id": noted.comments[-1].id}
    elif action == "revert_ticket_update":
        await setup.ticketing.update_ticket(
            TicketUpdate(ticket_id=ticket.id, priority="high"), idempotency_key="s2"
        )
        request = {"ticket_id": ticket.id, "change_key": "s2"}
    else:  # recall_email
        stored = await setup.mail.send_email(mail(), idempotency_key="s2")
        await run.mail.recall_email({"outbox_id": stored.id}, idempotency_key=run.key(action))
        return
    await getattr(run.ticketing, action)(request, idempotency_key=run.key(action))


@pytest.mark.parametrize(
    "action",
    [
        "void_bill",
        "reverse_journal_entry",
        "close_ticket",
        "add_reply",
        "remove_note",
        "revert_ticket_update",
        "recall_email",
    ],
)
async def test_an_irreversible_effect_is_listed_with_its_reason(
    rollback_settings: Settings, action: str
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        await _irreversible(suite, run, action)
        before = snapshot(suite.engine)
        report, changes = await rolled_back_cleanly(suite, run, before)
        declared = suite.connectors[report.steps[0].connector].action_specs()[action].undo
    assert outcomes(report) == [(action, "cannot_undo")]
    assert report.steps[0].detail == declared.reason  # type: ignore[union-attr]
    assert changes == Diff(), "nothing is touched"


# -- what every rollback promises --------------------------------------------------------------


async def three_effects(suite: Suite, ref: str = "rb-ticket") -> tuple[Acting, dict[str, Any]]:
    """A failed run that opened a ticket, noted it and raised its priority, and the tables
    as they were before it."""
    run = Acting(suite)
    before = snapshot(suite.engine)
    ticket = await run.ticketing.create_ticket(ticket_request(ref), idempotency_key=run.key("t"))
    await run.ticketing.add_note(
        TicketCommentCreate(ticket_id=ticket.id, body="checked"), idempotency_key=run.key("n")
    )
    await run.ticketing.update_ticket(
        TicketUpdate(ticket_id=ticket.id, priority="high"), idempotency_key=run.key("u")
    )
    run.finish(RunStatus.failed)
    return run, before


async def test_a_rollback_that_breaks_half_way_completes_when_run_again(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run, before = await three_effects(suite)
        broken = Breaks(suite.connectors["ticketing"], "remove_note", RuntimeError("disk full"))
        first = await roll_back(suite, run.id, ticketing=broken)
        assert first.status == RunStatus.rollback_failed
        assert outcomes(first) == [
            ("update_ticket", "undone"),
            ("add_note", "failed"),
            ("create_ticket", "left"),
        ]
        assert "RuntimeError: disk full" in first.steps[1].detail
        error = suite.store.get(run.id).error or {}
        assert [s["action"] for s in error["left"]] == ["add_note", "create_ticket"]

        second = await roll_back(suite, run.id, reason="another reason")
        assert second.status == RunStatus.rolled_back, second.lines()
        assert outcomes(second) == [
            ("update_ticket", "already_undone"),
            ("add_note", "undone"),
            ("create_ticket", "undone"),
        ]
        run_row = suite.store.get(run.id)
        assert run_row.error is None, "the run's own error is back (it had none)"
        closed = [p for p in iter_events(suite, run.id, "connector_call") if p.get("undoes")]
        assert Counter(p["action"] for p in closed) == {
            "revert_ticket_update": 1,
            "remove_note": 1,
            "close_ticket": 1,
        }, "nothing undone twice"
        [close] = [p for p in closed if p["action"] == "close_ticket"]
        assert close["request"]["reason"] == "test rollback", "the first attempt's reason"
        changes = diff(before, snapshot(suite.engine))
    assert changes.removed == changes.changed == {}
    assert changes.counts() == {"tkt_tickets": 1, "tkt_comments": 2, "tkt_ticket_changes": 1}


@pytest.mark.slow
async def test_a_rollback_killed_half_way_completes_when_run_again(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run, before = await three_effects(suite)
    # dies once the second undo (the note's) acted, before the engine saw it
    assert die_rolling_back(rollback_settings, run.id, "ticketing", "remove_note") == 137
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        held = suite.store.get(run.id)
        assert held.claimed_by and held.status == RunStatus.failed, "the dead process's lease"
        report = await roll_back(suite, run.id)
        assert report.status == RunStatus.rolled_back, report.lines()
        assert outcomes(report) == [
            ("update_ticket", "already_undone"),
            ("add_note", "already_undone"),  # completed from the helpdesk's own key ledger
            ("create_ticket", "undone"),
        ]
        undos = [p for p in iter_events(suite, run.id, "connector_call") if p.get("undoes")]
        assert sorted(p["action"] for p in undos) == [
            "close_ticket",
            "remove_note",
            "revert_ticket_update",
        ]
        changes = diff(before, snapshot(suite.engine))
    assert changes.removed == changes.changed == {}
    assert changes.counts() == {"tkt_tickets": 1, "tkt_comments": 2, "tkt_ticket_changes": 1}


async def test_a_failed_undo_leaves_the_run_rollback_failed_with_what_is_left(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run, _before = await three_effects(suite)
        ticket_id = run_ticket(suite, run)
        someone = Acting(suite).ticketing  # changes the ticket after the run
        await someone.update_ticket(
            TicketUpdate(ticket_id=ticket_id, priority="urgent"), idempotency_key="later"
        )
        report = await roll_back(suite, run.id)
        assert report.status == suite.store.get(run.id).status == RunStatus.rollback_failed
        assert outcomes(report) == [
            ("update_ticket", "failed"),
            ("add_note", "left"),
            ("create_ticket", "left"),
        ]
        assert "ticket_changed" in report.steps[0].detail
        error = suite.store.get(run.id).error or {}
        assert error["code"] == "rollback_failed" and len(error["left"]) == 3
        assert error["previous"] is None
        failed = [e.payload for e in suite.store.events(run.id, kinds=("rollback_failed",))]
        assert [s["outcome"] for s in failed[0]["steps"]] == ["failed", "left", "left"]

        # someone puts the priority back: the rollback carries on
        await someone.update_ticket(
            TicketUpdate(ticket_id=ticket_id, priority="high"), idempotency_key="fix"
        )
        again = await roll_back(suite, run.id)
        assert again.status == RunStatus.rolled_back, again.lines()
        assert [s.outcome for s in again.steps] == ["undone"] * 3


def run_ticket(suite: Suite, run: Acting) -> str:
    created = next(p for p in iter_events(suite, run.id, "connector_call"))
    return str(created["result"]["id"])


async def test_runs_a_worker_holds_and_rollbacks_without_a_reason_are_refused(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        with pytest.raises(RunStateError, match="cancel it first"):
            await roll_back(suite, run.id)  # queued: a worker may take it any moment
        run.finish()
        with pytest.raises(InvalidInput, match="reason"):
            await roll_back(suite, run.id, reason="  ")
        suite.store.acquire(run.id, "elsewhere:1:x", lease_s=60, statuses=[RunStatus.succeeded])
        with pytest.raises(RunStateError, match="held by"):
            await roll_back(suite, run.id)
        assert suite.store.get(run.id).status == RunStatus.succeeded


async def test_a_run_without_side_effects_rolls_back_to_nothing(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        run.finish(RunStatus.cancelled)
        report = await roll_back(suite, run.id)
    assert report.status == RunStatus.rolled_back and report.steps == []


def test_the_cli_prints_a_line_per_effect_and_exits_1_when_an_undo_fails(
    rollback_settings: Settings,
) -> None:
    async def runs() -> tuple[str, str]:
        async with Suite.open(rollback_settings, preload_flows=False) as suite:
            fine, _ = await three_effects(suite, "cli-1")
            stuck, _ = await three_effects(suite, "cli-2")
            await Acting(suite).ticketing.update_ticket(  # changed since: its revert fails
                TicketUpdate(ticket_id=run_ticket(suite, stuck), priority="low"),
                idempotency_key="later",
            )
            return fine.id, stuck.id

    fine, stuck = asyncio.run(runs())
    env = {"COLUMNS": "200"}
    if rollback_settings.database_url:
        env["BPA_DATABASE_URL"] = rollback_settings.database_url

    def bpa(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["runs", "rollback", *args], env=env)
        return result.exit_code, result.output

    code, out = bpa(fine, "--reason", "duplicate request")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"run {fine}: rolled_back (3 undone)"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["undone"] * 3
    assert "undone: ticketing.create_ticket" in lines[3] and "by ticketing.close_ticket" in lines[3]
    code, out = bpa(fine, "--reason", "again")
    assert code == 0 and "rolled back already" in out

    code, out = bpa(stuck, "--reason", "duplicate request")
    assert code == 1, out
    assert "rollback_failed (1 failed, 2 left)" in out and "ticket_changed" in out
    code, out = bpa(stuck)
    assert code == 2 and "--reason" in out
