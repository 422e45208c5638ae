"""The customer-service flow end to end through the engine: CRM, ticketing and real SMTP."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bpa.config import Settings
from bpa.runs.tables import Run
from bpa.suite import Suite
from connectors.schemas import (
    CustomerActivitySearch,
    CustomerRef,
    OrderRef,
    TaskSearch,
    TicketRef,
)
from flows.customer_service import flow
from flows.customer_service.facts import unsupported
from flows.customer_service.intake import load_input

MESSAGES = Path(__file__).resolve().parents[2] / "fixtures" / "customer_service" / "messages"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), mail))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def cs_settings(settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    port = inbox[1]
    return settings.model_copy(
        update={"connectors": {"mail": {"smtp_host": "127.0.0.1", "smtp_port": port}}}
    )


def message(name: str, **changes: Any) -> dict[str, Any]:
    data = json.loads((MESSAGES / f"{name}.json").read_text())
    data.update(changes)
    return data


async def start(suite: Suite, payload: dict[str, Any]) -> Run:
    return await suite.runner.start(flow.name, payload, trigger="test")


def writes(suite: Suite, run: Run) -> list[dict[str, Any]]:
    calls = [e.payload for e in suite.store.events(run.id) if e.kind == "connector_call"]
    return [c for c in calls if c["side_effect"] and c["connector"] == "crm"]


def crm_changes(run: Run) -> list[str]:
    """The CRM writes other than the follow-up task."""
    return [a["action"] for a in run.output["actions"]]


def body_of(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())


async def test_cancel_request_cancels_keeps_a_ticket_replies_by_smtp_and_follows_up(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    handler = inbox[0]
    async with Suite.open(cs_settings) as suite:
        run = await start(suite, message("cancel_pending_order"))
        assert run.status == "succeeded", run.error
        out = run.output
        assert out["intent"] == "cancel"
        assert out["customer_id"] == "ava_nguyen_6646"
        assert out["order_ids"] == ["#W1242543"]
        assert out["decision"]["outcome"] == "act"
        crm = suite.connectors["crm"]
        order = await crm.get_order(OrderRef(order_id="#W1242543"))
        assert order.status == "cancelled" and order.cancel_reason == "ordered by mistake"
        [action] = out["actions"]
        assert action["action"] == "cancel_order" and action["ok"]
        assert action["result"]["status"] == "cancelled"

        ticket = await suite.connectors["ticketing"].get_ticket(
            TicketRef(ticket_id=out["ticket_id"])
        )
        assert ticket.external_ref == "<demo-cancel-0001@customers.example.com>"
        assert ticket.requester.customer_id == "ava_nguyen_6646"
        assert ticket.status == "solved"  # opened, then updated when answered
        assert [c.visibility for c in ticket.comments] == ["internal", "public"]

        [(recipients, mail)] = handler.messages
        assert recipients == ["ava.nguyen2868@example.com"]
        assert mail["In-Reply-To"] == "<demo-cancel-0001@customers.example.com>"
        body = body_of(mail)
        assert "#W1242543" in body and "cancelled" in body and "184.13" in body
        assert "Skateboard" in body and ticket.id in body
        assert out["delivery"]["status"] == "sent"

        [task] = await crm.list_tasks(TaskSearch(related_type="ticket", related_id=ticket.id))
        assert task.status == "open" and out["follow_up"]["task_id"] == task.id
        assert task.due_at > ticket.created_at
        assert all(w["idempotency_key"].startswith(run.id) for w in writes(suite, run))


async def test_the_same_request_sent_twice_acts_once(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    async with Suite.open(cs_settings) as suite:
        first = await start(suite, message("cancel_pending_order"))
        second = await start(suite, message("cancel_pending_order"))
        assert first.id == second.id and first.status == "succeeded"
        # Without a message id, the content is the key.
        anonymous = message(
            "cancel_pending_order",
            message_id=None,
            body="Please cancel order #W1013897, I no longer need it.",
            sender={"email": "juan.garcia2336@example.com"},
        )
        third = await start(suite, anonymous)
        fourth = await start(suite, anonymous)
        assert third.id == fourth.id and third.id != first.id
    assert len(inbox[0].messages) == 2
    crm_cancels = [w for w in writes(suite, first) if w["action"] == "cancel_order"]
    assert len(crm_cancels) == 1


async def test_a_repeat_under_another_id_finds_the_order_already_cancelled(
    cs_settings: Settings,
) -> None:
    async with Suite.open(cs_settings) as suite:
        await start(suite, message("cancel_pending_order"))
        again = await start(suite, message("cancel_pending_order", message_id="<other-id@x.com>"))
        assert again.status == "succeeded"
        assert crm_changes(again) == []
        assert again.output["decision"]["reason"] == "already_cancelled"
        activities = await suite.connectors["crm"].list_customer_activities(
            CustomerActivitySearch(customer_id="ava_nguyen_6646", order_id="#W1242543")
        )
        assert sum("cancelled" in a.subject for a in activities) == 1


async def test_refund_above_threshold_waits_for_approval_then_is_performed(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    async with Suite.open(cs_settings) as suite:
        crm = suite.connectors["crm"]
        run = await start(suite, message("refund_above_threshold"))
        assert run.status == "waiting"
        assert run.output["decision"]["needs_approval"] is True
        assert (await crm.get_order(OrderRef(order_id="#W3232025"))).status == "delivered"
        assert inbox[0].messages == []  # nothing said before a person decided
        question = suite.store.pending_approval(run.id).question
        assert question["kind"] == "refund_approval"
        assert question["actions"] == ["approve", "reject"]
        assert "534.84" in question["title"]

        done = await suite.runner.resume(run.id, {"action": "approve"}, by="lead")
        assert done.status == "succeeded", done.error
        order = await crm.get_order(OrderRef(order_id="#W3232025"))
        assert order.status == "return requested"
        assert order.return_request and order.return_request.payment_method_id.startswith(
            "gift_card"
        )
        [(_, mail)] = inbox[0].messages
        assert "#W3232025" in body_of(mail) and "return" in body_of(mail).lower()


async def test_a_rejected_refund_changes_nothing_and_goes_to_a_person(
    cs_settings: Settings,
) -> None:
    async with Suite.open(cs_settings) as suite:
        run = await start(suite, message("refund_above_threshold"))
        done = await suite.runner.resume(run.id, {"action": "reject", "comment": "check"})
        assert done.status == "succeeded"
        assert crm_changes(done) == []
        assert done.output["decision"]["reason"] == "refund_not_approved"
        assert done.output["ticket_status"] == "open"
        order = await suite.connectors["crm"].get_order(OrderRef(order_id="#W3232025"))
        assert order.status == "delivered"


async def test_a_hedged_request_asks_for_confirmation_and_a_yes_performs_it(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    async with Suite.open(cs_settings) as suite:
        crm = suite.connectors["crm"]
        first = await start(suite, message("return_confirmation_needed"))
        assert first.output["decision"]["outcome"] == "confirm"
        assert crm_changes(first) == []
        assert first.output["ticket_status"] == "pending_customer"
        assert "yes" in first.output["reply"].lower()
        assert (await crm.get_order(OrderRef(order_id="#W1630030"))).status == "delivered"

        yes = {
            "channel": "email",
            "subject": "Re: Returning the kettle",
            "body": "Yes, please go ahead.",
            "sender": {"email": "raj.santos4322@example.com"},
            "message_id": "<demo-return-0003-yes@customers.example.com>",
            "in_reply_to": "<demo-return-0003@customers.example.com>",
        }
        second = await start(suite, yes)
        assert second.status == "succeeded", second.error
        assert second.output["ticket_id"] == first.output["ticket_id"]
        assert crm_changes(second) == ["return_items"]
        assert (await crm.get_order(OrderRef(order_id="#W1630030"))).status == "return requested"
    assert len(inbox[0].messages) == 2


async def test_a_proposal_turned_down_for_another_request_is_never_carried_out(
    cs_settings: Settings,
) -> None:
    # the thread is read again on every turn, so the first "return the tablet" is found
    # again on the second and third; the customer turned it down and only the cancel acts
    def mail(n: int, body: str) -> dict[str, Any]:
        return {
            "channel": "email",
            "subject": "tablet" if n == 1 else "Re: tablet",
            "body": body,
            "sender": {"email": "yusuf.gonzalez2399@example.com"},
            "message_id": f"<tablet-{n}@customers.example.com>",
            **({"in_reply_to": f"<tablet-{n - 1}@customers.example.com>"} if n > 1 else {}),
        }

    async with Suite.open(cs_settings) as suite:
        first = await start(suite, mail(1, "Hi, I want to return the tablet. Yusuf"))
        assert [a["action"] for a in first.output["decision"]["requests"][0]["actions"]] == [
            "return_items"
        ]
        await start(
            suite,
            mail(
                2,
                "No, not that one. I mean the tablet in the order that hasn't shipped yet - I "
                "ordered it by mistake, please just cancel that whole order.",
            ),
        )
        second = suite.runner.store.get(first.id)
        proposed = [
            a["action"] for r in second.output["decision"]["requests"] for a in r["actions"]
        ]
        assert proposed == ["cancel_order"]
        await start(suite, mail(3, "Yes, cancel it."))
        third = suite.runner.store.get(first.id)
        # the cancel refunds 1,758.64, above the threshold: a supervisor approves it
        assert (suite.runner.store.pending_approval(third.id).question or {})[
            "kind"
        ] == "refund_approval"
        third = await suite.runner.resume(third.id, {"action": "approve"}, by="lead")
        assert third.status == "succeeded", third.error
        assert crm_changes(third) == ["cancel_order"]
        crm = suite.connectors["crm"]
        assert (await crm.get_order(OrderRef(order_id="#W1679211"))).status == "delivered"


async def test_a_request_pointing_back_takes_its_order_from_the_sentence_before(
    cs_settings: Settings,
) -> None:
    angry = {
        "channel": "email",
        "subject": "WHERE IS MY GRILL",
        "body": "This is RIDICULOUS. I've been waiting FOREVER for the grill and nobody tells "
        "me anything. Just cancel the damn thing, I'll buy one somewhere else.",
        "sender": {"email": "evelyn.hernandez3060@example.com"},
        "message_id": "<grill-1@customers.example.com>",
    }
    async with Suite.open(cs_settings) as suite:
        run = await start(suite, angry)
        decision = run.output["decision"]
        cancels = [
            a["request"]
            for r in decision["requests"]
            for a in r["actions"]
            if a["action"] == "cancel_order"
        ]
        # the grill's order, not the other pending one; inferred, so asked first
        assert cancels == [{"order_id": "#W3482034", "reason": "no longer needed"}]
        assert decision["outcome"] == "confirm"
        assert crm_changes(run) == []


async def test_someone_elses_order_beside_ones_own_is_refused_without_its_details(
    cs_settings: Settings,
) -> None:
    mail = {
        "channel": "email",
        "subject": "two things",
        "body": "Two things: cancel my order with the smartphone and keyboard, I ordered it by "
        "mistake. And my friend Raj Anderson asked me to cancel his order #W8389220 because "
        "he can't get online.",
        "sender": {"email": "amelia.silva7872@example.com"},
        "message_id": "<two-things-1@customers.example.com>",
    }
    async with Suite.open(cs_settings) as suite:
        run = await start(suite, mail)
        decision = run.output["decision"]
        proposed = [a["request"] for r in decision["requests"] for a in r["actions"]]
        assert proposed == [{"order_id": "#W4836353", "reason": "ordered by mistake"}]
        assert crm_changes(run) == []
        reply = run.output["reply"]
        assert "#W4836353" in reply
        # nothing of the other customer's order but the number they wrote themselves
        assert "Laptop" not in reply and "Espresso Machine" not in reply


def _facts_of_customer(orders: list[Any]) -> set[str]:
    known: set[str] = set()
    for order in orders:
        known.add(order.id)
        known |= {f"{order.total:.2f}"} | {f"{i.price:.2f}" for i in order.items}
        known |= {f"{p.amount:.2f}" for p in order.payment_history}
        known |= {p.payment_method_id for p in order.payment_history}
        known |= {t for f in order.fulfilments for t in f.tracking_ids}
        known |= {i.item_id for i in order.items}
    return known


@pytest.mark.parametrize(
    "name", ["cancel_pending_order", "order_status", "return_confirmation_needed"]
)
async def test_every_fact_in_a_reply_comes_from_the_customers_records(
    cs_settings: Settings, name: str
) -> None:
    async with Suite.open(cs_settings) as suite:
        run = await start(suite, message(name))
        crm = suite.connectors["crm"]
        customer = await crm.get_customer(CustomerRef(customer_id=run.output["customer_id"]))
        orders = [await crm.get_order(OrderRef(order_id=o)) for o in customer.order_ids]
        known = _facts_of_customer(orders) | {run.output["ticket_id"]}
        reply = run.output["reply"]
        stated = set(re.findall(r"#W\d{7}|\b\d+\.\d{2}\b|\b\d{9,}\b|TKT-[0-9A-F]+", reply))
        assert stated, reply
        assert stated <= known, stated - known
        assert run.output["reply_check"] == []


def test_the_fact_check_catches_an_invented_order_amount_or_tracking_number() -> None:
    facts = {"orders": [{"id": "#W1234567", "total": "52.10", "tracking_ids": ["123456789012"]}]}
    assert unsupported("Order #W1234567 (52.10), tracking 123456789012.", facts) == []
    wrong = "Order #W7654321 will be refunded 99.00; tracking 999999999999."
    assert unsupported(wrong, facts) == ["#W7654321", "99.00", "999999999999"]


FOREIGN = "Hello, please cancel order #W2307204, I ordered it by mistake. Ava"
BAD_INPUTS = [
    ("unknown_sender", {}, "human", "unauthenticated"),
    ("prompt_injection", {}, "human", "suspicious_instructions"),
    (
        "cancel_pending_order",
        {
            "subject": "",
            "body": "Bonjour, je voudrais annuler ma commande "
            "#W1242543 car je l'ai commandée par erreur. Merci beaucoup.",
        },
        "human",
        "unsupported_language",
    ),
    ("cancel_pending_order", {"subject": "", "body": "   "}, "human", "empty_message"),
    (
        "cancel_pending_order",
        {"body": "please cancel order #W1242543 " * 40_000},
        "human",
        "message_too_long",
    ),
    (
        "cancel_pending_order",
        {"subject": "Cancel", "body": FOREIGN},
        "refuse",
        "other_customers_order",
    ),
]


@pytest.mark.parametrize(
    ("name", "changes", "outcome", "reason"), BAD_INPUTS, ids=[r[3] for r in BAD_INPUTS]
)
async def test_bad_input_ends_in_an_explained_outcome_never_an_action(
    cs_settings: Settings,
    inbox: tuple[Inbox, int],
    name: str,
    changes: dict[str, Any],
    outcome: str,
    reason: str,
) -> None:
    async with Suite.open(cs_settings) as suite:
        run = await start(suite, message(name, **changes))
        assert run.status == "succeeded", run.error
        decision = run.output["decision"]
        assert (decision["outcome"], decision["reason"]) == (outcome, reason)
        assert crm_changes(run) == []
        assert [w["action"] for w in writes(suite, run)] == ["create_task"]
        ticket = await suite.connectors["ticketing"].get_ticket(
            TicketRef(ticket_id=run.output["ticket_id"])
        )
        assert ticket.status == "open" and f"reason:{reason}" in ticket.tags
        assert len(ticket.description) <= 20_100
        assert run.output["reply"] and len(inbox[0].messages) == 1
        for order_id in ("#W1242543", "#W2307204"):
            order = await suite.connectors["crm"].get_order(OrderRef(order_id=order_id))
            assert order.status == "pending"


async def test_a_chat_message_is_answered_in_the_ticket(cs_settings: Settings) -> None:
    async with Suite.open(cs_settings) as suite:
        run = await start(suite, message("order_status"))
        assert run.output["decision"]["outcome"] == "inform"
        assert run.output["delivery"]["status"] == "posted"
        ticket = await suite.connectors["ticketing"].get_ticket(
            TicketRef(ticket_id=run.output["ticket_id"])
        )
        public = [c.body for c in ticket.comments if c.visibility == "public"]
        assert public == [run.output["reply"]] and "920545524634" in public[0]


def test_an_eml_file_becomes_a_message(tmp_path: Path) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(
        b"From: Ava Nguyen <Ava.Nguyen2868@example.com>\r\nTo: support@shop.example\r\n"
        b"Subject: Cancel\r\nMessage-ID: <abc@example.com>\r\n"
        b"Date: Sat, 14 Mar 2026 09:30:00 +0000\r\n\r\nPlease cancel #W1242543.\r\n"
    )
    data = load_input(eml, None)  # type: ignore[arg-type]
    assert data["sender"] == {
        "email": "ava.nguyen2868@example.com",
        "name": "Ava Nguyen",
        "verified": None,  # no Authentication-Results: the From as the gateway delivered it
    }
    assert data["message_id"] == "<abc@example.com>"
    assert data["body"].strip() == "Please cancel #W1242543."
    assert (
        flow.run_key is not None and flow.run_key(data) == "customer_service:msg:<abc@example.com>"
    )


async def test_the_intent_model_is_trained_once_and_kept_under_home(
    cs_settings: Settings,
) -> None:
    async with Suite.open(cs_settings) as suite:
        await start(suite, message("order_status"))
    saved = list((cs_settings.home / "models").glob("intents_train-*.pkl"))
    assert len(saved) == 1
    await asyncio.sleep(0)


async def test_a_transient_crm_failure_is_retried_and_cancels_once(
    cs_settings: Settings,
) -> None:
    from connectors.errors import Transient

    async with Suite.open(cs_settings) as suite:
        crm = suite.connectors["crm"]
        real_cancel, calls = crm.cancel_order, {"n": 0}

        async def flaky_cancel(request: Any, *, idempotency_key: str) -> Any:
            calls["n"] += 1
            if calls["n"] == 1:
                raise Transient("order service busy")
            return await real_cancel(request, idempotency_key=idempotency_key)

        crm.cancel_order = flaky_cancel
        run = await start(suite, message("cancel_pending_order"))
        assert run.status == "succeeded", run.error
        assert calls["n"] == 2
        assert [a["action"] for a in run.output["actions"]] == ["cancel_order"]
        assert (await crm.get_order(OrderRef(order_id="#W1242543"))).status == "cancelled"
