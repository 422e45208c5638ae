"""The customer-service model planner, end to end: a real run on the openai backend against a
local OpenAI-compatible server scripted to call the planner's tools, then submit a proposal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import FakeOpenAIServer, Reply
from pydantic import SecretStr

from bpa.config import Settings
from bpa.models import ModelGateway
from bpa.models.offline import OfflineBackend
from bpa.runs.tables import Run
from bpa.suite import Suite
from flows.customer_service import flow
from flows.customer_service.planner import PLANNER

CRM = Path(__file__).resolve().parents[2] / "fixtures" / "crm"
USERS: dict[str, Any] = {
    uid: {**user, "user_id": uid}
    for uid, user in json.loads((CRM / "users.json").read_text()).items()
}
ORDERS: dict[str, Any] = json.loads((CRM / "orders.json").read_text())
NO_ENTITIES = {"data": {}, "confidence": 0.9}


def orders_of(user: dict[str, Any]) -> list[dict[str, Any]]:
    return [ORDERS[o] for o in user["orders"] if o in ORDERS]


def paid_with(order: dict[str, Any]) -> str:
    return str(order["payment_history"][0]["payment_method_id"])


def return_plan(order: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """The planner's proposal: return `item` of `order`, refunded the way it was paid."""
    action = {
        "kind": "return_items",
        "order_id": order["order_id"],
        "item_ids": [item["item_id"]],
        "payment_method_id": paid_with(order),
    }
    return {
        "requests": [{"intent": "return", "order_ids": [order["order_id"]], "actions": [action]}]
    }


def find_user(fits: Callable[[dict[str, Any]], Any]) -> tuple[dict[str, Any], Any]:
    """The first fixture customer for whom `fits` finds something (and what it found)."""
    for user in USERS.values():
        found = fits(user)
        if found:
            return user, found
    raise AssertionError("no fixture customer fits")


@pytest.fixture
def cs_openai(settings: Settings, openai_server: FakeOpenAIServer) -> Settings:
    return settings.model_copy(
        update={
            "model_backend": "openai",
            "openai_base_url": openai_server.base_url,
            "openai_api_key": SecretStr("test-key"),
            "openai_model": "fake-model",
            "model_timeout_s": 5.0,
            "model_max_retries": 0,
        }
    )


def chat(user: dict[str, Any], body: str, n: int = 1) -> dict[str, Any]:
    return {
        "channel": "chat",
        "body": body,
        "sender": {"email": user["email"], "verified": True},
        "message_id": f"planner-test-{user['user_id']}-{n}",
    }


def understood(server: FakeOpenAIServer, intent: str) -> None:
    """The classifier and the entity reader's answers before the planner runs."""
    server.reply(
        Reply.structured({"label": intent, "confidence": 0.9}),
        Reply.structured(NO_ENTITIES),
        Reply.structured({"label": intent, "confidence": 0.9}),
    )


def events(suite: Suite, run: Run, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in suite.store.events(run.id) if e.kind == kind]


def planner_calls(suite: Suite, run: Run) -> list[dict[str, Any]]:
    return [c for c in events(suite, run, "model_call") if c["task"] == "plan"]


def tool_results(server: FakeOpenAIServer) -> list[dict[str, Any]]:
    """The tool results the planner sent back, in the last request that carried tools."""
    last = [r for r in server.requests if r.tools][-1]
    return [json.loads(m["content"]) for m in last.messages if m.get("role") == "tool"]


def output(run: Run) -> dict[str, Any]:
    assert run.output is not None, run.error
    return run.output


def crm_writes(suite: Suite, run: Run) -> list[str]:
    """CRM writes other than the follow-up task."""
    calls = events(suite, run, "connector_call")
    return [
        c["action"]
        for c in calls
        if c["side_effect"] and c["connector"] == "crm" and c["action"] != "create_task"
    ]


async def test_a_request_without_an_order_id_is_planned_through_tools_into_a_confirmation(
    cs_openai: Settings, openai_server: FakeOpenAIServer
) -> None:
    def last_with_a_lamp(user: dict[str, Any]) -> Any:
        delivered = [o for o in orders_of(user) if o["status"] == "delivered"]
        last = delivered[-1] if delivered else None
        lamp = [i for i in (last or {}).get("items", []) if "Lamp" in i["name"]]
        return (last, lamp[0]) if lamp else None

    user, (order, lamp) = find_user(last_with_a_lamp)
    understood(openai_server, "return")
    proposal = return_plan(order, lamp)
    openai_server.reply(
        Reply.tool_calls(("list_orders", {}), prompt_tokens=300, completion_tokens=12),
        Reply.tool_calls(("submit_plan", proposal), prompt_tokens=900, completion_tokens=60),
        Reply.text("Thank you, please confirm the return."),
    )
    async with Suite.open(cs_openai) as suite:
        run = await suite.runner.start(
            flow.name, chat(user, "I'd like to return the lamp from my last order."), trigger="test"
        )
        plan_requests = [r for r in openai_server.requests if r.tools]
        tools = {t["function"]["name"] for t in plan_requests[0].tools}
        listed = tool_results(openai_server)[0]["orders"]
        [call] = planner_calls(suite, run)
        [decided] = events(suite, run, "planner_decided")
        writes = crm_writes(suite, run)

    decision = output(run)["decision"]
    assert decision["outcome"] == "confirm"
    [request] = decision["requests"]
    [action] = request["actions"]
    assert action["action"] == "return_items"
    assert action["request"] == {
        "order_id": order["order_id"],
        "item_ids": [lamp["item_id"]],
        "payment_method_id": paid_with(order),
    }
    assert tools == {"find_customer", "list_orders", "get_order", "get_product", "submit_plan"}
    assert {o["order_id"] for o in listed} == set(user["orders"]) & set(ORDERS)
    assert call["ok"] is True and call["rounds"] == 2
    assert (call["input_tokens"], call["output_tokens"]) == (1200, 72)
    assert call["model"] == "fake-model" and call["template"] == "plan_requests.j2"
    assert decided["planner"] == "model" and decided["refused"] == 0
    assert writes == [] and output(run)["actions"] == []


def _refund_elsewhere(user: dict[str, Any]) -> Any:
    methods = [m for m in user["payment_methods"] if not m.startswith("gift_card")]
    for order in orders_of(user):
        other = [m for m in methods if m != paid_with(order)]
        if order["status"] == "delivered" and other:
            return {
                "kind": "return_items",
                "order_id": order["order_id"],
                "item_ids": [order["items"][0]["item_id"]],
                "payment_method_id": other[0],
            }, "refund_method_not_allowed"
    return None


def _cancel_delivered(user: dict[str, Any]) -> Any:
    for order in orders_of(user):
        if order["status"] == "delivered":
            proposed = {
                "kind": "cancel_order",
                "order_id": order["order_id"],
                "cancel_reason": "no longer needed",
            }
            return proposed, "not_pending"
    return None


def _someone_elses(user: dict[str, Any]) -> Any:
    foreign = next(o for o in ORDERS.values() if o["user_id"] != user["user_id"])
    proposed = {
        "kind": "cancel_order",
        "order_id": foreign["order_id"],
        "cancel_reason": "ordered by mistake",
    }
    return proposed, "not_your_order"


@pytest.mark.parametrize("breaking", [_refund_elsewhere, _cancel_delivered, _someone_elses])
async def test_a_policy_breaking_proposal_is_refused_audited_and_the_rules_decide(
    cs_openai: Settings,
    openai_server: FakeOpenAIServer,
    breaking: Callable[[dict[str, Any]], Any],
) -> None:
    user, (proposed, reason) = find_user(breaking)
    understood(openai_server, "refund")
    proposal = {"requests": [{"intent": "refund", "order_ids": [], "actions": [proposed]}]}
    openai_server.reply(
        Reply.tool_calls(("submit_plan", proposal)),
        Reply.text("A colleague will look into your request."),
    )
    async with Suite.open(cs_openai) as suite:
        run = await suite.runner.start(
            flow.name, chat(user, "Please sort out my refund."), trigger="test"
        )
        [refused] = events(suite, run, "planner_refused")
        [decided] = events(suite, run, "planner_decided")
        writes = crm_writes(suite, run)

    assert refused["reason"] == reason
    assert refused["action"] == proposed["kind"]
    # Another customer's order id is not repeated in the audit trail.
    mine = proposed["order_id"] in user["orders"]
    assert refused["order_id"] == (proposed["order_id"] if mine else None)
    assert decided == {"planner": "model", "refused": 1, "requests": decided["requests"]}
    decision = output(run)["decision"]
    assert all(
        a["request"] != {k: v for k, v in proposed.items() if k != "kind"}
        for r in decision["requests"]
        for a in r["actions"]
    )
    assert decision["outcome"] != "act"
    assert writes == [] and output(run)["actions"] == []


async def test_a_tool_call_for_another_customers_data_gets_an_error_and_no_data(
    cs_openai: Settings, openai_server: FakeOpenAIServer
) -> None:
    user = next(iter(USERS.values()))
    other = next(u for u in USERS.values() if u["user_id"] != user["user_id"])
    foreign = ORDERS[other["orders"][0]]
    understood(openai_server, "order_status")
    openai_server.reply(
        Reply.tool_calls(
            ("list_orders", {"customer_id": other["user_id"]}),
            ("get_order", {"order_id": foreign["order_id"]}),
            ("find_customer", {"email": other["email"]}),
            ("get_order", {"order_id": 42}),
        ),
        Reply.tool_calls(("submit_plan", {"requests": [{"intent": "order_status"}]})),
        Reply.text("Here is the status of your orders."),
    )
    async with Suite.open(cs_openai) as suite:
        run = await suite.runner.start(
            flow.name, chat(user, "Where are my orders?"), trigger="test"
        )
        results = tool_results(openai_server)
        [call] = planner_calls(suite, run)

    assert len(results) == 4 and all(set(r) == {"error"} for r in results)
    sent = json.dumps(results)
    for secret in (
        foreign["order_id"],
        other["email"],
        other["user_id"],
        other["name"]["last_name"],
    ):
        assert secret not in sent
    assert "invalid arguments" in results[3]["error"]
    assert [t["ok"] for t in call["tool_calls"]] == [False, False, False, False, True]
    assert output(run)["decision"]["outcome"] == "inform"
    assert output(run)["actions"] == []


@pytest.mark.parametrize("misbehaving", ["loops", "unknown_tool"])
async def test_a_model_that_loops_or_calls_an_unknown_tool_is_cut_off_and_the_rules_decide(
    cs_openai: Settings, openai_server: FakeOpenAIServer, misbehaving: str
) -> None:
    user = next(iter(USERS.values()))
    understood(openai_server, "order_status")
    if misbehaving == "loops":
        openai_server.reply(
            *[Reply.tool_calls(("list_orders", {})) for _ in range(PLANNER.max_rounds)]
        )
    else:
        openai_server.reply(Reply.tool_calls(("cancel_order", {"order_id": user["orders"][0]})))
    openai_server.reply(Reply.text("Here is the status of your orders."))
    async with Suite.open(cs_openai) as suite:
        run = await suite.runner.start(
            flow.name, chat(user, "Where are my orders?"), trigger="test"
        )
        [call] = planner_calls(suite, run)
        [decided] = events(suite, run, "planner_decided")
        writes = crm_writes(suite, run)

    assert call["ok"] is False
    expected = "submitted no valid plan in 6 rounds" if misbehaving == "loops" else "not offered"
    assert expected in call["error"]
    assert decided["planner"] == "rules" and expected in decided["why"]
    assert run.status == "succeeded", run.error
    assert output(run)["decision"]["reason"] == "order_status"  # the rule planner's answer
    assert writes == []


async def test_offline_there_is_no_model_planner_and_the_rules_decide(settings: Settings) -> None:
    gateway = ModelGateway(OfflineBackend())
    assert gateway.plans_with_model is False
    planning = await gateway.plan(PLANNER, tools=[], text="return the lamp")
    assert (planning.planner, planning.value) == ("rules", None)
    assert "offline backend has no model planner" in planning.reason

    user = next(iter(USERS.values()))
    async with Suite.open(settings) as suite:
        run = await suite.runner.start(
            flow.name, chat(user, "Where are my orders?"), trigger="test"
        )
        assert output(run)["decision"]["reason"] == "order_status"
        assert planner_calls(suite, run) == []
        assert events(suite, run, "planner_decided") == []


async def test_the_customers_yes_carries_out_the_planned_return_once(
    cs_openai: Settings, openai_server: FakeOpenAIServer
) -> None:
    """The thread end to end on the openai backend: the model plans a return from a request
    without ids, the reply asks; the customer's yes (same chat session) continues the run,
    the model plans again over the whole conversation, and the return is made once."""

    def delivered_with_items(user: dict[str, Any]) -> Any:
        return next((o for o in orders_of(user) if o["status"] == "delivered"), None)

    user, order = find_user(delivered_with_items)
    item = order["items"][0]
    proposal = return_plan(order, item)
    asking = chat(user, f"I'd like to return the {item['name']} I got.") | {"session_id": "s-1"}
    yes = chat(user, "Yes, please go ahead.", n=2) | {"session_id": "s-1"}
    async with Suite.open(cs_openai) as suite:
        understood(openai_server, "return")
        openai_server.reply(
            Reply.tool_calls(("submit_plan", proposal)),
            Reply.text("Shall I return it? Please confirm."),
        )
        first = await suite.runner.start(flow.name, asking, trigger="test")
        assert first.status == "waiting", first.error
        assert output(first)["decision"]["outcome"] == "confirm"
        assert crm_writes(suite, first) == []
        # The model's wording left the details out: the reply lists the write it asks about.
        summary = output(first)["decision"]["requests"][0]["actions"][0]["summary"]
        assert output(first)["reply"].startswith("Shall I return it? Please confirm.")
        assert summary in output(first)["reply"]

        understood(openai_server, "return")
        openai_server.reply(
            Reply.tool_calls(("submit_plan", proposal)),
            Reply.text("Your return is on its way."),
        )
        done = await suite.runner.start(flow.name, yes, trigger="test")
        assert done.id == first.id  # the answer continued the conversation
        assert crm_writes(suite, done) == ["return_items"]
        again = await suite.runner.start(flow.name, yes, trigger="test")  # delivered twice
        assert crm_writes(suite, again) == ["return_items"]
        decided = events(suite, done, "planner_decided")

    assert done.status == "succeeded", done.error
    assert [a["action"] for a in output(done)["actions"] if a["ok"]] == ["return_items"]
    assert [d["planner"] for d in decided] == ["model", "model"]
