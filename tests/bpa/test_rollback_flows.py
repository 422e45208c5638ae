"""Rolling back whole runs of the built-in flows: an invoice posted, one waiting for review,
one rejected (whose flow voided its bill with the same undo), a customer's order cancelled
with a refund, a ticket and a reply, a sales review's follow-up tasks. The mocked systems
are compared before the run and after its rollback (rollback_kit.py says what is left out).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rollback_kit import FIXTURES, diff, iter_events, roll_back, rollback_settings, seeded_home
from rollback_kit import snapshot as tables
from test_rollback import outcomes

from bpa.config import Settings
from bpa.errors import RunStateError
from bpa.runs.status import RunStatus
from bpa.suite import Suite

__all__ = ["rollback_settings", "seeded_home"]  # fixtures, re-exported for pytest

INVOICES = FIXTURES / "invoices"
MESSAGES = FIXTURES / "customer_service" / "messages"


async def invoice(suite: Suite, name: str) -> Any:
    from flows.invoice_processing import flow

    payload = flow.input_from_file(INVOICES / name, suite.documents)
    return await suite.runner.start(flow.name, payload, trigger="test")


def undo_calls(suite: Suite, run_id: str) -> list[dict[str, Any]]:
    return [p for p in iter_events(suite, run_id, "connector_call") if p.get("undoes")]


async def test_a_posted_invoice_is_voided_once_and_its_entry_reversed(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        before = tables(suite.engine)
        run = await invoice(suite, "inv_01_mueller_de_classic.pdf")
        assert (run.status, run.output["decision"]) == ("succeeded", "auto_approved")
        report = await roll_back(suite, run.id, reason="booked twice")
        assert report.status == suite.store.get(run.id).status == RunStatus.rolled_back
        assert outcomes(report) == [("post_bill", "undone"), ("create_bill", "undone")]
        [void] = undo_calls(suite, run.id)  # one void undoes the booking and the posting
        assert void["action"] == "void_bill" and len(void["undoes"]) == 2
        assert void["request"]["reason"] == "booked twice"
        assert (await roll_back(suite, run.id)).noop
        changes = diff(before, tables(suite.engine))
    assert changes.removed == changes.changed == {}
    # What an accounting system keeps: the void bill, its entry reversed, the reversal.
    assert changes.counts() == {
        "acct_bills": 1,
        "acct_bill_lines": len(changes.added["acct_bill_lines"]),
        "acct_journal_entries": 2,
        "acct_journal_lines": len(changes.added["acct_journal_lines"]),
    }
    assert changes.added["acct_bills"][0]["status"] == "void"
    assert sorted(e["status"] for e in changes.added["acct_journal_entries"]) == [
        "posted",
        "reversed",
    ]
    net: Counter[str] = Counter()
    for line in changes.added["acct_journal_lines"]:
        net[line["account"]] += line["debit"] - line["credit"]
    assert set(net.values()) == {0}, "the ledger is as it was"


async def test_a_waiting_invoice_is_cancelled_then_its_draft_voided(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        before = tables(suite.engine)
        run = await invoice(suite, "big_above_threshold_brightline_us.pdf")
        assert run.status == RunStatus.waiting and run.output["bill_status"] == "draft"
        report = await roll_back(suite, run.id, reason="sent by mistake")
        assert outcomes(report) == [("create_bill", "undone")]
        kinds = [e.kind for e in suite.store.events(run.id)]
        finished = kinds.index("run_finished")
        assert kinds.index("rollback_started") > finished, "cancelled, then rolled back"
        with pytest.raises(RunStateError):  # its question is withdrawn
            await suite.runner.resume(run.id, {"action": "approve"}, by="ann")
        changes = diff(before, tables(suite.engine))
    assert changes.removed == changes.changed == {}
    assert set(changes.counts()) == {"acct_bills", "acct_bill_lines"}  # the draft entry is gone
    assert changes.added["acct_bills"][0]["status"] == "void"


async def test_a_rejected_invoice_was_undone_by_its_flow_and_is_not_undone_again(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = await invoice(suite, "big_above_threshold_brightline_us.pdf")
        done = await suite.runner.resume(run.id, {"action": "reject", "comment": "no"}, by="bo")
        assert done.output["bill_status"] == "void"
        [void] = undo_calls(suite, run.id)  # the flow's reject used the declared undo
        assert void["action"] == "void_bill" and void["idempotency_key"].startswith("undo:")
        after_flow = tables(suite.engine)
        report = await roll_back(suite, run.id)
        assert report.status == RunStatus.rolled_back
        assert outcomes(report) == [("create_bill", "already_undone")]
        assert len(undo_calls(suite, run.id)) == 1 and tables(suite.engine) == after_flow


async def test_a_cancelled_order_with_its_refund_ticket_and_reply_is_undone(
    rollback_settings: Settings,
) -> None:
    message = json.loads((MESSAGES / "cancel_pending_order.json").read_text())
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        before = tables(suite.engine)
        run = await suite.runner.start("customer_service", message, trigger="test")
        assert run.status == RunStatus.succeeded and run.output["actions"][0]["ok"]
        report = await roll_back(suite, run.id, reason="customer changed their mind")
        assert report.status == RunStatus.rolled_back, report.lines()
        assert outcomes(report) == [
            ("create_task", "undone"),  # deleted
            ("update_ticket", "undone"),  # solved -> open again
            ("add_reply", "cannot_undo"),  # the customer has seen it
            ("send_email", "undone"),  # stored, never sent (no SMTP host): recalled
            ("add_note", "undone"),  # withdrawn
            ("cancel_order", "undone"),  # pending again, the refund taken back
            ("create_ticket", "undone"),  # closed
        ]
        assert len(undo_calls(suite, run.id)) == 6
        assert (await roll_back(suite, run.id)).noop
        changes = diff(before, tables(suite.engine))
    assert changes.removed == changes.changed == {}, "the order, the customer, the CRM tasks"
    assert changes.counts() == {
        "crm_changes": 1,  # the cancellation, restored
        "crm_customer_activities": 2,  # the customer's history: cancelled, restored
        "mail_outbox": 1,  # recalled
        "tkt_tickets": 1,  # closed
        "tkt_comments": 3,  # the note (withdrawn), the reply (kept), the closing note
        "tkt_ticket_changes": 1,  # the status change, reverted
    }
    assert changes.added["mail_outbox"][0]["status"] == "recalled"
    assert changes.added["tkt_tickets"][0]["status"] == "closed"


async def test_a_sales_reviews_follow_up_tasks_are_deleted(rollback_settings: Settings) -> None:
    as_of = json.loads((FIXTURES / "crm_sales" / "manifest.json").read_text())["as_of"]
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        before = tables(suite.engine)
        run = await suite.runner.start(
            "sales_operations", {"as_of": as_of, "top_n": 3}, trigger="test"
        )
        assert run.status == RunStatus.succeeded and run.output["tasks_created"] == 6
        report = await roll_back(suite, run.id, reason="a review of the wrong quarter")
        assert report.status == RunStatus.rolled_back
        assert outcomes(report) == [("create_task", "undone")] * 6
        assert (await roll_back(suite, run.id)).noop
        assert tables(suite.engine) == before, "the CRM exactly as before"
    assert Path(run.output["report_html"]).exists(), "a report file is not a side effect"
