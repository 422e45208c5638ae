"""Customer-service threads: a customer's reply continues the run that asked (issue #14)."""

from __future__ import annotations

import asyncio
from typing import Any

import test_customer_service as cs
from test_customer_service import Inbox, body_of, crm_changes, message, start, writes

from bpa.config import Settings
from bpa.dispatch import make_dispatcher
from bpa.runs.replies import submit
from bpa.runs.tables import Run
from bpa.suite import Suite
from bpa.sweeper import Sweeper
from connectors.schemas import OrderRef, TicketRef, TicketSearch
from flows.customer_service import flow

inbox, cs_settings = cs.inbox, cs.cs_settings  # the fixtures

ASKED = "<demo-return-0003@customers.example.com>"
RAJ = "raj.santos4322@example.com"


def reply(
    in_reply_to: str, message_id: str, body: str = "Yes, please go ahead.", **more: Any
) -> dict[str, Any]:
    return {
        "channel": "email",
        "subject": "Re: Returning the kettle",
        "body": body,
        "sender": {"email": RAJ},
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        **more,
    }


def question_of(suite: Suite, run: Run) -> dict[str, Any]:
    approval = suite.store.pending_approval(run.id)
    assert approval is not None, run.status
    return approval.question


def our_message_id(run: Run) -> str:
    return str(run.output["delivery"]["message_id"])


async def tickets_of(suite: Suite, email: str) -> list[Any]:
    found = await suite.connectors["ticketing"].find_tickets(TicketSearch(limit=50))
    return [t for t in found if t.requester.email == email]


async def test_a_reply_to_our_question_resumes_the_run_and_acts_once(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    handler = inbox[0]
    async with Suite.open(cs_settings) as suite:
        crm = suite.connectors["crm"]
        first = await start(suite, message("return_confirmation_needed"))
        assert first.status == "waiting" and first.output["decision"]["outcome"] == "confirm"
        assert first.output["ticket_status"] == "pending_customer"
        question = question_of(suite, first)
        assert question["kind"] == "customer_reply"
        asked_id = our_message_id(first)
        assert f"msgid:{asked_id}" in question["details"]["reply_keys"]
        assert [m["In-Reply-To"] for _, m in handler.messages] == [ASKED]

        # The customer answers our e-mail: In-Reply-To is the Message-ID we sent.
        answer = reply(asked_id, "<raj-yes-1@customers.example.com>", references=[ASKED, asked_id])
        submitted = submit(suite.runner, flow.name, answer, trigger="test")
        assert submitted.resumed and not submitted.created and submitted.run.id == first.id
        assert submitted.run.status == "queued"
        done = await suite.runner.execute(first.id)
        assert done.status == "succeeded", done.error
        assert crm_changes(done) == ["return_items"]
        order = await crm.get_order(OrderRef(order_id="#W1630030"))
        assert order.status == "return requested"

        returns = [w for w in writes(suite, done) if w["action"] == "return_items"]
        assert len(returns) == 1
        # One reply per turn, the second threaded to the customer's answer.
        assert len(handler.messages) == 2
        second_mail = handler.messages[1][1]
        assert second_mail["In-Reply-To"] == "<raj-yes-1@customers.example.com>"
        assert "#W1630030" in body_of(second_mail)

        # The same ticket all along, solved now; no second ticket.
        [ticket] = await tickets_of(suite, RAJ)
        assert ticket.id == first.output["ticket_id"] == done.output["ticket_id"]
        assert ticket.status == "solved"
        assert [c.visibility for c in ticket.comments].count("public") == 2

        state = (await suite.runner.graph(flow.name).aget_state(_config(first.id))).values
        roles = [(c["role"], c["message_id"]) for c in state["conversation"]]
        assert roles == [
            ("customer", ASKED),
            ("agent", asked_id),
            ("customer", "<raj-yes-1@customers.example.com>"),
        ]
        assert state["text"].startswith("Returning the kettle") and state["confirmed"] is True
        assert state["turn"] == 2
        # Turn 2's writes carry their turn: none was taken for turn 1's.
        keys = [w["idempotency_key"] for w in writes(suite, done)]
        assert len(keys) == len(set(keys))


def _config(run_id: str) -> Any:
    return {"configurable": {"thread_id": run_id}}


async def test_a_duplicate_delivery_of_the_reply_resumes_once(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    async with Suite.open(cs_settings) as suite:
        first = await start(suite, message("return_confirmation_needed"))
        answer = reply(our_message_id(first), "<raj-yes-2@customers.example.com>")
        once = await start(suite, answer)
        assert once.id == first.id and once.status == "succeeded"
        again = submit(suite.runner, flow.name, answer, trigger="test")
        assert again.run.id == first.id and again.resumed and again.replayed
        assert not again.created and again.run.status == "succeeded"
        twice = await start(suite, answer)
        assert twice.id == first.id
        assert len(suite.store.list_runs(flow=flow.name)) == 1
        decided = [e for e in suite.store.events(first.id) if e.kind == "decision_recorded"]
        assert len(decided) == 1
    assert len(inbox[0].messages) == 2
    assert crm_changes(twice) == ["return_items"]


async def test_a_reply_from_another_address_starts_its_own_run(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    async with Suite.open(cs_settings) as suite:
        first = await start(suite, message("return_confirmation_needed"))
        stranger = reply(
            our_message_id(first),
            "<stranger-1@elsewhere.example.com>",
            sender={"email": "ava.nguyen2868@example.com"},
        )
        other = await start(suite, stranger)
        assert other.id != first.id
        assert suite.store.get(first.id).status == "waiting"
        assert crm_changes(other) == []
        # Forged (the gateway failed it) from the right address: not the customer either.
        forged = reply(
            our_message_id(first),
            "<forged-1@customers.example.com>",
            sender={"email": RAJ, "verified": False},
        )
        third = await start(suite, forged)
        assert third.id not in (first.id, other.id)
        assert suite.store.get(first.id).status == "waiting"
        order = await suite.connectors["crm"].get_order(OrderRef(order_id="#W1630030"))
        assert order.status == "delivered"


def _chat(body: str, message_id: str, *, session: str = "sess-42", **more: Any) -> dict[str, Any]:
    return {
        "channel": "chat",
        "subject": "",
        "body": body,
        "sender": {"email": RAJ, "verified": True},
        "message_id": message_id,
        "session_id": session,
        **more,
    }


async def test_a_chat_session_continues_its_run(cs_settings: Settings) -> None:
    async with Suite.open(cs_settings) as suite:
        first = await start(
            suite,
            _chat(
                "I'm thinking about returning the electric kettle from order #W1630030, it is "
                "louder than I expected. How would that work?",
                "chat-1",
            ),
        )
        assert first.status == "waiting", (first.status, first.output["decision"])
        assert "chat:sess-42" in question_of(suite, first)["details"]["reply_keys"]
        # Another session, or the same one not signed in, does not continue it.
        elsewhere = await start(suite, _chat("Yes, please go ahead.", "chat-x", session="other"))
        assert elsewhere.id != first.id
        unsigned = _chat("Yes, please go ahead.", "chat-y", sender={"email": RAJ})
        assert (await start(suite, unsigned)).id != first.id
        assert suite.store.get(first.id).status == "waiting"

        done = await start(suite, _chat("Yes, please go ahead.", "chat-2"))
        assert done.id == first.id and done.status == "succeeded", done.error
        assert crm_changes(done) == ["return_items"]
        ticket = await suite.connectors["ticketing"].get_ticket(
            TicketRef(ticket_id=done.output["ticket_id"])
        )
        assert [c.visibility for c in ticket.comments].count("public") == 2


async def test_an_unanswered_question_expires_into_a_ticket_for_a_person(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    settings = cs_settings.model_copy(update={"cs_thread_expiry_hours": 0.5 / 3600})
    async with Suite.open(settings) as suite:
        first = await start(suite, message("return_confirmation_needed"))
        assert first.status == "waiting"
        sweeper = Sweeper(suite.store, make_dispatcher(settings))
        await asyncio.sleep(0.6)
        report = sweeper.sweep()
        assert report.expired == [first.id]
        assert sweeper.sweep().expired == []  # answered once
        done = await suite.runner.execute(first.id)
        assert done.status == "succeeded", done.error
        assert done.output["decision"]["outcome"] == "human"
        assert done.output["decision"]["reason"] == "customer_did_not_answer"
        ticket = await suite.connectors["ticketing"].get_ticket(
            TicketRef(ticket_id=done.output["ticket_id"])
        )
        assert ticket.status == "open" and ticket.priority == "high"
        assert "reason:customer_did_not_answer" in ticket.tags
        assert "did not answer" in ticket.comments[-1].body
        assert crm_changes(done) == []
        # A late answer starts a run of its own.
        late = await start(suite, reply(our_message_id(first), "<raj-late@customers.example.com>"))
        assert late.id != first.id
    assert len(inbox[0].messages) >= 1
    assert inbox[0].messages[0][1]["In-Reply-To"] == ASKED


async def test_a_conversation_that_keeps_asking_goes_to_a_person(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    settings = cs_settings.model_copy(update={"cs_thread_max_turns": 2})
    async with Suite.open(settings) as suite:
        first = await start(suite, message("return_confirmation_needed"))
        asked = our_message_id(first)
        second = await start(
            suite, reply(asked, "<raj-2@customers.example.com>", body="Hmm, what would it cost me?")
        )
        assert second.id == first.id
        assert second.status == "waiting", second.output["decision"]
        asked_again = our_message_id(second)
        assert asked_again != asked
        third = await start(
            suite, reply(asked_again, "<raj-3@customers.example.com>", body="Not sure yet.")
        )
        assert third.id == first.id and third.status == "succeeded"
        assert third.output["decision"]["reason"] == "thread_turn_limit"
        assert third.output["ticket_status"] == "open"
        assert crm_changes(third) == []
    assert len(inbox[0].messages) == 3  # one reply per customer message


async def test_an_operator_can_stop_waiting_and_take_the_ticket(
    cs_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    async with Suite.open(cs_settings) as suite:
        first = await start(suite, message("return_confirmation_needed"))
        assert question_of(suite, first)["actions"] == ["reject"]
        done = await suite.runner.resume(first.id, {"action": "reject"}, by="lead")
        assert done.status == "succeeded", done.error
        assert done.output["decision"]["reason"] == "thread_handed_over"
        assert done.output["ticket_status"] == "open" and crm_changes(done) == []
        # The customer's answer now starts a run of its own.
        late = await start(suite, reply(our_message_id(first), "<raj-after@customers.example.com>"))
        assert late.id != first.id
    assert len(inbox[0].messages) >= 1
