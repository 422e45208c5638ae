"""Customer-service identity: only an identity the channel verifies may see or change an account.

An attacker who writes a customer's e-mail address, order number, name and zip code into a
message gets a neutral answer and a ticket for a person: no account data in the reply, in
anything the mail connector sends, in the ticket or in the run's audit trail, and no CRM
change. The customer's own channel (their e-mail address, a signed-in chat) still works.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bpa.config import Settings
from bpa.runs.tables import Run
from bpa.suite import Suite
from connectors.schemas import (
    CustomerOrders,
    CustomerRef,
    OrderRef,
    OutboxSearch,
    TicketRef,
)
from flows.customer_service import flow
from flows.customer_service.identity import email_verdict
from flows.customer_service.intake import load_input

VICTIM = "ava_nguyen_6646"
VICTIM_EMAIL = "ava.nguyen2868@example.com"
PENDING = "#W1242543"  # Ava's skateboard, pending
ATTACKER = "attacker@evil.example"
#: Everything the attacker knows and types; the rest of Ava's account must stay hidden.
SUBJECT = f"Cancel order {PENDING}"
IMPERSONATION = (
    f"Hello, my name is Ava Nguyen and my zip code is 94128, my account email is "
    f"{VICTIM_EMAIL}. Please cancel my order {PENDING}, I ordered it by mistake."
)
TYPED = {PENDING, VICTIM_EMAIL, "Ava", "Nguyen", "94128"}
HELP = "from the e-mail address registered on your account"


def chat(body: str, message_id: str, subject: str = SUBJECT, **sender: Any) -> dict[str, Any]:
    return {
        "channel": "chat",
        "subject": subject,
        "body": body,
        "sender": sender,
        "message_id": message_id,
    }


def email(body: str, message_id: str, sender: str, **changes: Any) -> dict[str, Any]:
    message = {
        "channel": "email",
        "subject": SUBJECT,
        "body": body,
        "sender": {"email": sender},
        "message_id": message_id,
    }
    return message | changes


async def start(suite: Suite, payload: dict[str, Any]) -> Run:
    run = await suite.runner.start(flow.name, payload, trigger="test")
    assert run.status == "succeeded", run.error
    return run


async def account_facts(suite: Suite, customer_id: str) -> set[str]:
    """What a stranger must not learn: order ids, items, amounts, payment and address."""
    crm = suite.connectors["crm"]
    customer = await crm.get_customer(CustomerRef(customer_id=customer_id))
    facts = {customer.address.address1, customer.address.city}
    facts |= {p.id for p in customer.payment_methods}
    for order_id in customer.order_ids:
        order = await crm.get_order(OrderRef(order_id=order_id))
        facts |= {order.id, f"{order.total:.2f}"}
        for item in order.items:
            facts |= {item.name, item.item_id, f"{item.price:.2f}"}
        facts |= {f"{p.amount:.2f}" for p in order.payment_history}
        facts |= {t for f in order.fulfilments for t in f.tracking_ids}
    return facts


async def orders_of(suite: Suite, customer_id: str) -> list[dict[str, Any]]:
    orders = await suite.connectors["crm"].list_customer_orders(
        CustomerOrders(customer_id=customer_id)
    )
    return [o.model_dump(mode="json") for o in orders]


async def sent_mail(suite: Suite) -> list[Any]:
    """Everything handed to the mail connector (delivered or not)."""
    return list(await suite.connectors["mail"].list_outbox(OutboxSearch(limit=500)))


async def everything_visible(suite: Suite, run: Run) -> str:
    """The reply, the mail sent, the ticket, the run's output and its audit trail."""
    ticket = await suite.connectors["ticketing"].get_ticket(
        TicketRef(ticket_id=run.output["ticket_id"])
    )
    mail = [f"{m.subject}\n{m.body}" for m in await sent_mail(suite)]
    events = [e.payload for e in suite.store.events(run.id)]
    return "\n".join(
        [
            run.output["reply"],
            *mail,
            ticket.model_dump_json(),
            json.dumps(run.output, default=str),
            json.dumps(events, default=str),
        ]
    )


def mentioned(fact: str, text: str) -> bool:
    """``fact`` appears in ``text`` as a whole token: an amount such as 52.88 must
    not match inside a timestamp's seconds (``16:38:52.880``)."""
    token = rf"(?<![0-9A-Za-z:.]){re.escape(fact)}(?![0-9A-Za-z])"
    return re.search(token, text) is not None


async def assert_nothing_disclosed_or_changed(
    suite: Suite, run: Run, before: list[dict[str, Any]]
) -> None:
    out = run.output
    assert await orders_of(suite, VICTIM) == before, "the victim's orders changed"
    assert out["actions"] == []
    hidden = await account_facts(suite, VICTIM) - TYPED
    visible = await everything_visible(suite, run)
    assert {f for f in hidden if mentioned(f, visible)} == set(), "account data disclosed"
    mail = await sent_mail(suite)
    assert all(VICTIM_EMAIL not in m.to for m in mail)
    reply_and_mail = out["reply"] + "".join(m.body for m in mail)
    for status in ("pending", "cancelled", "delivered", "processed"):
        assert status not in reply_and_mail.lower()
    assert out["customer_id"] is None and out["auth"]["method"] is None
    assert out["decision"]["outcome"] == "human"
    assert HELP in out["reply"]


# -- impersonation -------------------------------------------------------------------------


@pytest.mark.parametrize("knowledge", [[], ["chat"]], ids=["default", "knowledge_on_chat"])
async def test_a_stranger_e_mailing_a_victims_details_gets_no_data_and_changes_nothing(
    settings: Settings, knowledge: list[str]
) -> None:
    """Knowledge-based checks for chat do not open the e-mail channel to them."""
    settings = settings.model_copy(update={"cs_knowledge_auth_channels": knowledge})
    async with Suite.open(settings) as suite:
        before = await orders_of(suite, VICTIM)
        run = await start(suite, email(IMPERSONATION, "<evil-1@evil.example>", ATTACKER))
        await assert_nothing_disclosed_or_changed(suite, run, before)
        assert run.output["auth"]["problem"] == "unauthenticated"
        [reply] = await sent_mail(suite)
        assert reply.to == [ATTACKER]
        ticket = await suite.connectors["ticketing"].get_ticket(
            TicketRef(ticket_id=run.output["ticket_id"])
        )
        assert ticket.requester.customer_id is None and ticket.status == "open"
        assert IMPERSONATION in ticket.description  # the person who helps can read it


@pytest.mark.parametrize(
    "sender",
    [{"email": VICTIM_EMAIL, "name": "Ava Nguyen"}, {"name": "Ava Nguyen"}, {}],
    ids=["claimed_address", "name_only", "anonymous"],
)
async def test_an_unverified_chat_sender_gets_no_data_and_changes_nothing(
    settings: Settings, sender: dict[str, Any]
) -> None:
    async with Suite.open(settings) as suite:
        before = await orders_of(suite, VICTIM)
        run = await start(suite, chat(IMPERSONATION, "chat-evil-1", **sender))
        await assert_nothing_disclosed_or_changed(suite, run, before)
        assert run.output["auth"]["problem"] == "unverified_sender"
        assert await sent_mail(suite) == []  # chat is answered in the ticket only
        ticket = await suite.connectors["ticketing"].get_ticket(
            TicketRef(ticket_id=run.output["ticket_id"])
        )
        assert ticket.requester.email != VICTIM_EMAIL  # a claimed address is not the requester


async def test_name_and_zip_over_chat_identify_only_where_the_settings_allow_it(
    settings: Settings,
) -> None:
    """The configured weakness: with knowledge-based checks on for chat, anyone who knows
    Ava's name and zip code acts as Ava. That is why it is off by default."""
    settings = settings.model_copy(update={"cs_knowledge_auth_channels": ["chat"]})
    async with Suite.open(settings) as suite:
        run = await start(suite, chat(IMPERSONATION, "chat-knowledge-1"))
        assert run.output["auth"]["method"] == "knowledge_name_zip"
        assert run.output["customer_id"] == VICTIM
        assert [a["action"] for a in run.output["actions"]] == ["cancel_order"]
        order = await suite.connectors["crm"].get_order(OrderRef(order_id=PENDING))
        assert order.status == "cancelled"


async def test_an_eml_whose_dmarc_failed_is_not_the_account_holder(
    settings: Settings, tmp_path: Path
) -> None:
    eml = tmp_path / "forged.eml"
    eml.write_bytes(
        b"Authentication-Results: mx.shop.example; spf=pass smtp.mailfrom=evil.example;\r\n"
        b" dkim=none; dmarc=fail (p=none) header.from=example.com\r\n"
        b"From: Ava Nguyen <" + VICTIM_EMAIL.encode() + b">\r\nTo: support@shop.example\r\n"
        b"Subject: Cancel\r\nMessage-ID: <forged-1@evil.example>\r\n\r\n"
        b"Please cancel order #W1242543, I ordered it by mistake.\r\n"
    )
    payload = load_input(eml, None)  # type: ignore[arg-type]
    assert payload["sender"]["email"] == VICTIM_EMAIL
    assert payload["sender"]["verified"] is False
    async with Suite.open(settings) as suite:
        before = await orders_of(suite, VICTIM)
        run = await start(suite, payload)
        await assert_nothing_disclosed_or_changed(suite, run, before)
        assert run.output["auth"]["problem"] == "unverified_sender"
        assert await sent_mail(suite) == []  # no backscatter to the forged address


@pytest.mark.parametrize(
    ("headers", "verdict"),
    [
        ([], None),
        (["mx.shop.example; spf=pass smtp.mailfrom=x; dkim=pass; dmarc=pass"], True),
        (["mx.shop.example; dmarc=fail header.from=example.com"], False),
        (["mx.shop.example; spf=fail smtp.mailfrom=x; dkim=none"], False),
        (["mx.shop.example; spf=fail smtp.mailfrom=x; dkim=pass header.d=example.com"], None),
        (["mx.shop.example; spf=none (dmarc=pass in a comment)"], None),
        # a pass counts only from the topmost header (the receiving gateway's) ...
        (["mx.shop.example; spf=none", "forged.example; dmarc=pass"], None),
        # ... a failure from any of them
        (["mx.shop.example; dmarc=pass", "relay.example; dmarc=fail"], False),
    ],
)
def test_the_gateways_authentication_results_decide_whether_the_from_counts(
    headers: list[str], verdict: bool | None
) -> None:
    assert email_verdict(headers) is verdict


async def test_a_verified_sender_naming_another_account_acts_on_neither(
    settings: Settings,
) -> None:
    body = (
        "My account email is emma.kovacs6621@example.com. Please cancel order #W2307204, "
        "I ordered it by mistake."
    )
    async with Suite.open(settings) as suite:
        emma, ava = await orders_of(suite, "emma_kovacs_7176"), await orders_of(suite, VICTIM)
        run = await start(suite, email(body, "<ava-for-emma@x.example>", VICTIM_EMAIL))
        assert run.output["auth"]["problem"] == "identity_conflict"
        assert run.output["customer_id"] is None and run.output["actions"] == []
        assert await orders_of(suite, "emma_kovacs_7176") == emma
        assert await orders_of(suite, VICTIM) == ava
        hidden = await account_facts(suite, "emma_kovacs_7176") - {"#W2307204"}
        assert {f for f in hidden if f in run.output["reply"]} == set()


async def test_another_customers_yes_does_not_join_a_conversation(settings: Settings) -> None:
    raj = json.loads(
        (
            Path(__file__).resolve().parents[2]
            / "fixtures/customer_service/messages/return_confirmation_needed.json"
        ).read_text()
    )
    async with Suite.open(settings) as suite:
        first = await suite.runner.start(flow.name, raj, trigger="test")
        assert first.status == "waiting"  # for Raj's answer
        assert first.output["decision"]["outcome"] == "confirm"
        yes = email(
            "Yes, please go ahead.",
            "<juan-yes@x.example>",
            "juan.garcia2336@example.com",
            in_reply_to=raj["message_id"],
        )
        second = await start(suite, yes)
        assert second.id != first.id
        assert suite.store.get(first.id).status == "waiting"  # still Raj's to answer
        assert second.output["ticket_id"] != first.output["ticket_id"]
        assert second.output["actions"] == []
        order = await suite.connectors["crm"].get_order(OrderRef(order_id="#W1630030"))
        assert order.status == "delivered"
        assert "#W1630030" not in second.output["reply"]


async def test_a_knowledge_check_in_a_thread_must_be_given_again(settings: Settings) -> None:
    """The name and zip code of the request answered are not the answering sender's."""
    settings = settings.model_copy(update={"cs_knowledge_auth_channels": ["chat"]})
    hedged = (
        "Hello, my name is Ava Nguyen and my zip code is 94128. I'm thinking about cancelling "
        f"my order {PENDING} as I ordered it by mistake. How would that work?"
    )
    async with Suite.open(settings) as suite:
        first = await start(suite, chat(hedged, "chat-ava-1", subject=""))
        assert first.output["decision"]["outcome"] == "confirm", first.output["decision"]
        bare = chat("Yes, please go ahead.", "chat-ava-2", "") | {"in_reply_to": "chat-ava-1"}
        second = await start(suite, bare)
        assert second.output["auth"]["problem"] == "unverified_sender"
        assert second.output["actions"] == []
        again = chat(
            "Yes, please go ahead, my name is Ava Nguyen and my zip code is 94128.",
            "chat-ava-3",
            "",
        ) | {"in_reply_to": "chat-ava-1"}
        third = await start(suite, again)
        assert third.output["auth"]["method"] == "knowledge_name_zip"
        assert [a["action"] for a in third.output["actions"]] == ["cancel_order"]


# -- the account holder's own channel ------------------------------------------------------


async def test_the_account_holders_e_mail_cancels_once_and_replies_to_them(
    settings: Settings,
) -> None:
    body = f"Please cancel order {PENDING}, I ordered it by mistake."
    async with Suite.open(settings) as suite:
        run = await start(suite, email(body, "<ava-1@example.com>", VICTIM_EMAIL))
        again = await start(suite, email(body, "<ava-2@example.com>", VICTIM_EMAIL))
        assert run.output["auth"]["method"] == "sender_email"
        assert [a["action"] for a in run.output["actions"]] == ["cancel_order"]
        assert again.output["actions"] == []  # already cancelled: nothing twice
        order = await suite.connectors["crm"].get_order(OrderRef(order_id=PENDING))
        assert order.status == "cancelled"
        replies = await sent_mail(suite)
        assert {tuple(m.to) for m in replies} == {(VICTIM_EMAIL,)}
        assert any(PENDING in m.body and "184.13" in m.body for m in replies)


async def test_a_signed_in_chat_session_acts_and_answers_in_the_ticket(
    settings: Settings,
) -> None:
    body = f"Please cancel order {PENDING}, I ordered it by mistake."
    async with Suite.open(settings) as suite:
        run = await start(
            suite, chat(body, "chat-session-1", email=VICTIM_EMAIL, name="Ava", verified=True)
        )
        assert run.output["auth"]["method"] == "chat_session"
        assert [a["action"] for a in run.output["actions"]] == ["cancel_order"]
        ticket = await suite.connectors["ticketing"].get_ticket(
            TicketRef(ticket_id=run.output["ticket_id"])
        )
        [public] = [c.body for c in ticket.comments if c.visibility == "public"]
        assert PENDING in public and "cancelled" in public
        assert await sent_mail(suite) == []


def test_a_strangers_copy_of_a_chat_message_is_not_the_customers_run() -> None:
    """Content-keyed runs: an unverified copy sent first must not swallow the real one."""
    body = f"Please cancel order {PENDING}, I ordered it by mistake."
    stranger = chat(body, "", email=VICTIM_EMAIL) | {"message_id": None}
    customer = chat(body, "", email=VICTIM_EMAIL, verified=True) | {"message_id": None}
    assert flow.run_key is not None
    assert flow.run_key(stranger) != flow.run_key(customer)


@pytest.mark.parametrize(
    ("text", "zip_code"),
    [
        ("zip is 60614... no wait that's my old one, sorry - it's 60657", "60657"),
        ("zip 60614, no - 60657", "60657"),
        ("my zip is 60614", "60614"),
        ("my zip is 60614 and my order has 12345 pages", "60614"),
    ],
)
def test_a_zip_code_corrected_at_once_is_the_corrected_one(text: str, zip_code: str) -> None:
    from flows.customer_service.claims import zip_in

    assert zip_in(text) == zip_code
