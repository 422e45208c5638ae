"""Everyday requests through the engine, against the fixture CRM: a customer identified by
details written any which way, orders named by what is in them, several requests at once."""

from __future__ import annotations

from typing import Any

from bpa.config import Settings
from bpa.runs.tables import Run
from bpa.suite import Suite
from connectors.schemas import OrderRef
from flows.customer_service import flow

AVA = "ava_nguyen_6646"  # zip 94128; orders below, oldest first
SKATEBOARD = "#W1242543"  # pending: Skateboard
GRILLS = "#W8668939"  # delivered: two Grills, Water Bottle, Digital Camera
WATCH = "#W9892465"  # pending, her newest order: Smart Watch


async def start(suite: Suite, payload: dict[str, Any]) -> Run:
    run = await suite.runner.start(flow.name, payload, trigger="test")
    assert run.status == "succeeded", run.error
    return run


def chat(body: str, message_id: str) -> dict[str, Any]:
    return {"channel": "chat", "body": body, "sender": {}, "message_id": message_id}


def proposals(run: Run) -> list[tuple[str, dict[str, Any]]]:
    return [
        (a["action"], a["request"])
        for r in run.output["decision"]["requests"]
        for a in r.get("actions", [])
    ]


async def test_name_and_zip_written_surname_first_identify_on_a_knowledge_channel(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"cs_knowledge_auth_channels": ["chat"]})
    async with Suite.open(settings) as suite:
        run = await start(
            suite,
            chat(
                "hi, nguyen ava here, 94128. can you call off the skateboard order? "
                "ordered it by mistake",
                "chat-any-order-1",
            ),
        )
        assert run.output["customer_id"] == AVA
        assert run.output["auth"]["method"] == "knowledge_name_zip"
        assert run.output["decision"]["outcome"] == "confirm"  # the order was inferred
        assert proposals(run) == [
            ("cancel_order", {"order_id": SKATEBOARD, "reason": "ordered by mistake"})
        ]
        assert SKATEBOARD in run.output["reply"]
        order = await suite.connectors["crm"].get_order(OrderRef(order_id=SKATEBOARD))
        assert order.status == "pending"  # nothing done before the customer's yes


async def test_a_typed_e_mail_with_the_accounts_name_identifies_on_a_knowledge_channel(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"cs_knowledge_auth_channels": ["chat"]})
    async with Suite.open(settings) as suite:
        run = await start(
            suite,
            chat(
                "Ava Nguyen, ava.nguyen2868@example.com - where is my latest order? no sign of it",
                "chat-any-order-2",
            ),
        )
        assert run.output["auth"]["method"] == "knowledge_email"
        assert run.output["decision"]["requests"][0]["order_ids"] == [WATCH]
        stranger = await start(
            suite,
            chat(
                "Bob Stone, ava.nguyen2868@example.com - where is my latest order?",
                "chat-any-order-3",
            ),
        )
        assert stranger.output["customer_id"] is None
        assert WATCH not in stranger.output["reply"]


async def test_two_requests_without_order_numbers_are_both_proposed_then_done_on_yes(
    settings: Settings,
) -> None:
    first = {
        "channel": "email",
        "subject": "two things",
        "body": (
            "Hello, please cancel my skateboard order, I don't need it anymore, and return "
            "the water bottle I got, it leaks. Refund to my card please.\n\nAva"
        ),
        "sender": {"email": "ava.nguyen2868@example.com", "name": "Ava Nguyen"},
        "message_id": "<two-things-1@customers.example.com>",
    }
    async with Suite.open(settings) as suite:
        run = await suite.runner.start(flow.name, first, trigger="test")
        assert run.status == "waiting", run.error  # for Ava's answer
        assert [a for a, _ in proposals(run)] == ["cancel_order", "return_items"]
        _, returned = proposals(run)[1]
        assert returned["order_id"] == GRILLS
        assert len(returned["item_ids"]) == 1  # the water bottle, not the grills or camera
        assert run.output["actions"] == []
        assert SKATEBOARD in run.output["reply"] and GRILLS in run.output["reply"]

        yes = {
            **first,
            "subject": "Re: two things",
            "body": "Yes, please go ahead.",
            "message_id": "<two-things-2@customers.example.com>",
            "in_reply_to": first["message_id"],
        }
        waiting = await suite.runner.start(flow.name, yes, trigger="test")
        assert waiting.id == run.id  # her answer continues the conversation
        assert waiting.status == "waiting"  # together the refunds need a supervisor
        assert suite.store.pending_approval(run.id).question["kind"] != "customer_reply"
        done = await suite.runner.resume(waiting.id, {"action": "approve"}, by="supervisor")
        assert done.status == "succeeded", done.error
        assert [a["action"] for a in done.output["actions"] if a["ok"]] == [
            "cancel_order",
            "return_items",
        ]
        crm = suite.connectors["crm"]
        assert (await crm.get_order(OrderRef(order_id=SKATEBOARD))).status == "cancelled"
        assert (await crm.get_order(OrderRef(order_id=GRILLS))).status == "return requested"
