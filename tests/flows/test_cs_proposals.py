"""A model's proposal held to the policy (proposals.py) and when its writes may run (planner.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from test_cs_policy import ALL, ANNA, DELIVERED, HOME, LAMP, OTHERS, PENDING, SHIPPED, SHIRT

from flows.customer_service.planner import confirmation
from flows.customer_service.proposals import ProposedRequest, Refusal, Scope, check

SCOPE = Scope(ANNA, ALL, {"p_shirt": SHIRT, "p_lamp": LAMP})


def proposed(intent: str, **action: Any) -> ProposedRequest:
    return ProposedRequest.model_validate({"intent": intent, "actions": [action]})


def test_an_allowed_return_becomes_the_rule_planners_write_and_waits_for_a_yes() -> None:
    plan = check(
        proposed(
            "return",
            kind="return_items",
            order_id=DELIVERED.id,
            item_ids=["lamp_1"],
            payment_method_id="gift_card_2222222",
        ),
        SCOPE,
    )
    assert not isinstance(plan, Refusal)
    assert plan.outcome == "confirm" and plan.reason == "return_delivered"
    [write] = plan.actions
    assert write.request == {
        "order_id": DELIVERED.id,
        "item_ids": ["lamp_1"],
        "payment_method_id": "gift_card_2222222",
    }
    assert write.refund == Decimal("250.00")


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (
            {"kind": "cancel_order", "order_id": DELIVERED.id, "cancel_reason": "no longer needed"},
            "not_pending",
        ),
        ({"kind": "cancel_order", "order_id": PENDING.id}, "missing_reason"),
        (
            {"kind": "cancel_order", "order_id": OTHERS.id, "cancel_reason": "no longer needed"},
            "not_your_order",
        ),
        (
            {"kind": "return_items", "order_id": SHIPPED.id, "item_ids": ["s_blue_l"]},
            "not_delivered",
        ),
        (
            {
                "kind": "return_items",
                "order_id": DELIVERED.id,
                "item_ids": ["lamp_1"],
                "payment_method_id": "paypal_3333333",
            },
            "refund_method_not_allowed",
        ),
        (
            {
                "kind": "return_items",
                "order_id": DELIVERED.id,
                "item_ids": ["lamp_1"],
                "payment_method_id": "paypal_999",
            },
            "unknown_payment_method",
        ),
        ({"kind": "return_items", "order_id": DELIVERED.id, "item_ids": ["nope"]}, "unknown_item"),
        (
            {
                "kind": "modify_order_items",
                "order_id": PENDING.id,
                "item_ids": ["s_blue_m"],
                "new_item_ids": ["lamp_1"],
            },
            "option_not_of_product",
        ),
        (
            {
                "kind": "modify_order_items",
                "order_id": PENDING.id,
                "item_ids": ["s_blue_m"],
                "new_item_ids": ["s_red_m"],
            },
            "option_unavailable",
        ),
        (
            {
                "kind": "modify_order_items",
                "order_id": PENDING.id,
                "item_ids": ["s_blue_m"],
                "new_item_ids": ["s_gold_xl"],
                "payment_method_id": "gift_card_2222222",
            },
            "insufficient_balance",
        ),
        (
            {
                "kind": "exchange_items",
                "order_id": PENDING.id,
                "item_ids": ["s_blue_m"],
                "new_item_ids": ["s_blue_l"],
            },
            "not_delivered",
        ),
        (
            {
                "kind": "modify_order_payment",
                "order_id": PENDING.id,
                "payment_method_id": "credit_card_1111111",
            },
            "same_payment_method",
        ),
        (
            {"kind": "modify_order_address", "order_id": SHIPPED.id, "address": HOME.model_dump()},
            "not_pending",
        ),
    ],
)
def test_a_proposal_that_breaks_the_policy_is_refused_with_the_reason(
    action: dict[str, Any], reason: str
) -> None:
    refused = check(proposed("modify", **action), SCOPE)
    assert isinstance(refused, Refusal)
    assert refused.reason == reason
    if action["order_id"] == OTHERS.id:
        assert refused.order_id is None  # another customer's id is not repeated


def test_a_model_planned_write_runs_only_after_a_yes_to_a_reply_that_listed_it() -> None:
    plan = check(
        proposed(
            "exchange",
            kind="exchange_items",
            order_id=DELIVERED.id,
            item_ids=["s_blue_m"],
            new_item_ids=["s_blue_l"],
        ),
        SCOPE,
    )
    assert not isinstance(plan, Refusal)
    [write] = plan.actions
    listed = f"We propose: {write.summary}. Reply yes."
    assert confirmation(plan, None, confirmed=False, shown=listed).outcome == "confirm"
    assert confirmation(plan, None, confirmed=True, shown="Something else.").outcome == "confirm"
    assert confirmation(plan, None, confirmed=True, shown=listed).outcome == "act"
    # The rule planner making exactly these writes keeps its own outcome.
    rule = plan.model_copy(update={"outcome": "act", "reason": "change_order"})
    assert confirmation(plan, rule, confirmed=False, shown="") is rule
