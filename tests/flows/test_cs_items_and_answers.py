"""Which items and which order a customer means when the message says more than the request
(what else they bought, what is fine), when they take part of an order back, and when their
answer picks from the orders we listed ("the second one")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_cs_understanding import (
    KITCHEN_ORDER,
    LAMP,
    MAYA,
    ORDERS,
    PHONES,
    PRODUCTS,
    SHIRT,
    _item,
    _order,
    _product,
    decide_on,
    proposed,
)

from connectors.schemas import CatalogueProduct, Order, OrderItem, ProductVariant
from flows.customer_service import cues, matching, references, selection
from flows.customer_service.clauses import kind_of, sentences, split_by_action, withdrawn
from flows.customer_service.entities import (
    address_in,
    is_confirmation,
    parse_message,
    split_requests,
    wants_all_items,
)
from flows.customer_service.intake import read_text
from flows.customer_service.plans_address import account_address_only
from flows.customer_service.policy import Situation, decide
from flows.customer_service.schemas import Decision, RequestPlan
from flows.customer_service.threads import (
    chosen_candidate,
    described_candidate,
    other_candidate,
)

COFFEE_ID, LAMP_ID = KITCHEN_ORDER.items[0].item_id, KITCHEN_ORDER.items[1].item_id


def test_only_the_item_asked_for_is_returned_not_everything_the_message_names() -> None:
    d = decide_on(
        "Last month I bought a coffee maker along with a few other things (a desk lamp, a "
        "t-shirt and a charger). The coffee maker has been great but the lamp is too dim. "
        "I would like to return just the lamp please. The charger is fine.",
        intent="return",
    )
    [(action, request)] = proposed(d)
    assert (action, request["order_id"], request["item_ids"]) == (
        "return_items",
        KITCHEN_ORDER.id,
        [LAMP_ID],
    )


def test_everything_else_being_fine_is_no_return_of_everything() -> None:
    text = (
        "The coffee maker does not fit my counter, I'd like to send it back. "
        "Everything else is fine."
    )
    assert not wants_all_items(text)
    [(_, request)] = proposed(decide_on(text, intent="return"))
    assert request["item_ids"] == [COFFEE_ID]


def test_an_item_asked_for_and_said_to_work_fine_is_still_the_one_returned() -> None:
    # "works fine" is the customer's reason here, not an item set aside; another item said
    # to be fine after a comma is still set aside
    d = decide_on(
        "I want to return the desk lamp from my kitchen order, works fine but I never use it. "
        "Refund to my card please.",
        intent="return",
    )
    [(_, request)] = proposed(d)
    assert request["item_ids"] == [LAMP_ID]
    d = decide_on("Please return the coffee maker, the lamp is fine.", intent="return")
    [(_, request)] = proposed(d)
    assert request["item_ids"] == [COFFEE_ID]


PENDING_TWO = _order(
    "#W1000006", "pending", _item(PHONES, "phones_black"), _item(LAMP, "lamp_black")
)


def test_taking_one_item_off_a_pending_order_is_explained_not_cancelled() -> None:
    orders = [*ORDERS, PENDING_TWO]
    for text, intent in [
        ("I only wanted the headphones. Can you take the lamp one off?", "cancel"),
        ("I want to cancel my order #W1000006 but keep the lamp, I still need that one", "cancel"),
        ("I ordered the lamp twice by mistake! Can you cancel one of them? #W1000006", "cancel"),
    ]:
        d = decide_on(text, orders, intent=intent)
        assert (d.outcome, d.requests[0].reason, proposed(d)) == (
            "clarify",
            "partial_cancel",
            [],
        ), text
    # the lamp only in the pending order: it has not shipped, so it cannot be returned alone
    for text, intent in [("I want to return the lamp, it is too dim", "return")]:
        d = decide_on(text, [ORDERS[0], PENDING_TWO], intent=intent)
        assert (d.outcome, d.requests[0].reason, proposed(d)) == (
            "clarify",
            "partial_cancel",
            [],
        ), text


def test_an_answer_naming_the_order_by_another_item_returns_only_the_item_asked_for() -> None:
    laptop_and_kitchen = decide_on(
        "I want to return the coffee maker.\n\nthe one with the desk lamp", intent="return"
    )
    assert [r["item_ids"] for _, r in proposed(laptop_and_kitchen)] == [[COFFEE_ID]]


def test_a_refund_method_the_customer_turns_down_is_not_taken_as_named() -> None:
    d = decide_on(
        f"I want to return the coffee maker from {KITCHEN_ORDER.id}. Please refund it to my "
        "gift card instead of my credit card.",
        intent="return",
    )
    [(_, request)] = proposed(d)
    assert request["payment_method_id"] == "gift_card_1000002"


def test_questions_about_orders_are_status_questions() -> None:
    assert kind_of("also can you check when my smartphone order ships") == "status"
    assert kind_of("Hi, which of my orders are still pending?") == "status"
    assert kind_of("When does my lamp arrive?") == "status"


def _asked(candidates: list[str]) -> Decision:
    return Decision(
        outcome="clarify",
        reason="which_order",
        explanation="which order?",
        approval_threshold=Decimal("200"),
        category="return",
        ticket_status="pending_customer",
        requests=[
            RequestPlan(
                intent="return",
                outcome="clarify",
                reason="which_order",
                explanation="which order is this about?",
                details={"candidates": candidates},
            )
        ],
    )


def test_an_answer_picking_from_the_listed_orders_names_that_order() -> None:
    asked = _asked(["#W1000001 (delivered: Laptop)", "#W1000002 (delivered: Coffee Maker)"])
    assert chosen_candidate(asked, "the second one") == "#W1000002"
    assert chosen_candidate(asked, "The first one please") == "#W1000001"
    assert chosen_candidate(asked, "2") == "#W1000002"
    assert chosen_candidate(asked, "the last one.") == "#W1000002"
    assert chosen_candidate(asked, "the third one") is None  # only two were listed
    assert chosen_candidate(asked, "the second one had a broken lid too") is None
    assert chosen_candidate(_asked([]), "the second one") is None


def test_the_other_one_is_the_only_other_order_in_the_same_state() -> None:
    kettle, phones, laptop = ORDERS[3], ORDERS[4], ORDERS[0]  # pending, pending, delivered
    text = "Please cancel my kettle order, no longer needed"
    proposal = decide_on(text, intent="cancel")
    assert [r["order_id"] for _, r in proposed(proposal)] == [kettle.id]
    orders = [o.model_dump(mode="json") for o in ORDERS]
    meant = other_candidate(proposal, "actually no, not that one, the other one", orders)
    assert meant == f"{phones.id}, not {kettle.id}"
    assert other_candidate(proposal, "the other one has a broken lid", orders) is None
    # three pending orders: "the other one" does not tell which
    third = _order("#W1000009", "pending", _item(LAMP, "lamp_black"))
    crowded = [*orders, third.model_dump(mode="json")]
    assert other_candidate(proposal, "the other one", crowded) is None
    # read with the conversation, it is the other order that is proposed, for a yes
    answered = f"{text}\n\nactually no, not that one, the other one ({meant})"
    again = decide_on(answered, intent="cancel", proposed_before=True)
    assert again.outcome == "confirm"
    assert [r["order_id"] for _, r in proposed(again)] == [phones.id]
    assert laptop.id not in [r["order_id"] for _, r in proposed(again)]


def test_my_latest_order_is_that_one_even_when_it_can_no_longer_be_cancelled() -> None:
    kettle, laptop = ORDERS[3], ORDERS[0]  # pending, then (newer here) delivered
    d = decide_on("please cancel my latest order, I don't need it", [kettle, laptop])
    assert (d.outcome, d.requests[0].order_ids, proposed(d)) == ("inform", [laptop.id], [])
    pending = decide_on("please cancel my latest pending order, I don't need it", [kettle, laptop])
    assert [r["order_id"] for _, r in proposed(pending)] == [kettle.id]


def test_a_status_question_answers_about_the_orders_it_asks_about() -> None:
    pending = decide_on("Hi, which of my orders are still pending?", intent="order_status")
    assert pending.requests[0].order_ids == ["#W1000004", "#W1000005"]
    late = decide_on("My order still hasn't arrived, where is it?", intent="order_status")
    assert late.requests[0].order_ids == ["#W1000004", "#W1000005"]  # not the delivered ones
    any_order = decide_on("What's the status of my orders?", intent="order_status")
    assert len(any_order.requests[0].order_ids) == 5


# -- the fourth probe: qualified yes, exceptions, lists, addresses, a change of method ------


def test_a_yes_with_conditions_confirms_nothing_by_itself() -> None:
    assert not is_confirmation("yes to the cancellation, but leave the backpack as it is")
    assert not is_confirmation("yes but to my gift card please")
    assert is_confirmation("yes pls")


def test_an_order_excepted_by_what_it_holds_is_left_out() -> None:
    kitchen, laptop, kettle, phones = ORDERS[1], ORDERS[0], ORDERS[3], ORDERS[4]
    found = references.find_orders(
        "please cancel all my pending orders except the headphones one", ORDERS, {"pending"}
    )
    assert [o.id for o in found.orders] == [kettle.id]
    assert phones.id not in [o.id for o in found.orders]
    # an item excepted inside the order is not an order excepted
    d = decide_on(f"Return everything from {kitchen.id} except the coffee maker", intent="return")
    assert [r["order_id"] for _, r in proposed(d)] == [kitchen.id]
    assert laptop.id not in [r["order_id"] for _, r in proposed(d)]


def test_an_order_set_aside_as_the_one_with_a_product_is_not_cancelled() -> None:
    kettle, phones = ORDERS[3], ORDERS[4]
    d = decide_on(
        "please cancel the order with the kettle, I no longer need it. But NOT the one with "
        "the headphones, I'm keeping that one.",
        intent="cancel",
    )
    assert [r["order_id"] for _, r in proposed(d)] == [kettle.id]
    assert phones.id not in str(proposed(d))


def test_an_order_set_aside_after_the_one_meant_is_left_out() -> None:
    kitchen, laptop = ORDERS[1], ORDERS[0]
    text = (
        "cancel the laptop order please\n\nsorry, I meant the order with the coffee maker, "
        "not the laptop"
    )
    found = references.find_orders(text, ORDERS)
    assert [o.id for o in found.orders] == [kitchen.id]
    # an item set aside inside the order meant leaves that order in
    found = references.find_orders("return the desk lamp, not the coffee maker", ORDERS)
    assert [o.id for o in found.orders] == [kitchen.id]
    assert laptop.id not in [o.id for o in found.orders]


def test_numbered_and_bulleted_requests_are_separate_requests() -> None:
    for marker in ("1)", "-"):
        second = "2)" if marker == "1)" else "-"
        text = (
            f"Two things please:\n{marker} cancel the order with the kettle, I don't need it.\n"
            f"{second} in the order with the headphones, could you change them to another colour?"
        )
        spans = split_requests(text)
        assert len(spans) == 2 and "kettle" in spans[0].text, text
        assert "kettle" not in spans[1].text and "headphones" in spans[1].text, text


def test_changing_the_address_on_an_order_is_not_using_that_orders_address() -> None:
    assert (
        references.address_reference("Change the address on the kettle order", MAYA, ORDERS) is None
    )
    assert (
        references.address_reference("ship it to the same address as my kettle order", MAYA, ORDERS)
        == ORDERS[3].address
    )
    found = address_in("new address below\n55 Market St\nFloor 3\nSan Francisco CA 94105")
    assert found is not None and (found.address2, found.zip) == ("Floor 3", "94105")


def test_the_refund_method_named_last_in_the_conversation_wins() -> None:
    d = decide_on(
        f"I want to return the coffee maker from {KITCHEN_ORDER.id} to my credit card.\n\n"
        "actually make it a gift card refund please",
        intent="return",
    )
    assert [r["payment_method_id"] for _, r in proposed(d)] == ["gift_card_1000002"]


def test_order_numbers_typed_loosely_are_read_as_the_stores() -> None:
    assert read_text("", "pls cancel #w5875596") == "pls cancel #W5875596"
    assert read_text("", "what about order 5861600?") == "what about order #W5861600?"
    assert read_text("", "my zip is 94128") == "my zip is 94128"
    assert (
        read_text("", "please cancel 5861600, by mistake") == "please cancel #W5861600, by mistake"
    )
    assert read_text("", "Return #5861600") == "Return #W5861600"
    # seven digits that are something else stay as they are
    assert read_text("", "my phone is 5551234, cancel it") == "my phone is 5551234, cancel it"
    assert read_text("", "cancel 5861600-22") == "cancel 5861600-22"


def test_the_smaller_of_the_two_is_one_of_them_not_both() -> None:
    two = _order(
        "#W1000007", "delivered", _item(SHIRT, "shirt_blue_s"), _item(SHIRT, "shirt_blue_m")
    )
    d = decide_on(
        "I'd like to return the smaller of the two shirts from #W1000007", [two], intent="return"
    )
    assert (d.outcome, proposed(d)) == ("clarify", [])  # which one: asked, not both returned


def test_except_in_a_story_of_what_arrived_leaves_nothing_out_of_the_request() -> None:
    d = decide_on(
        "My kitchen order came last week. Everything came fine except the desk lamp honestly "
        "isn't what I expected, it flickers and I can't live with it. So I'd like to send the "
        "lamp back. Everything else I'm keeping. Refund to my gift card please.",
        intent="return",
    )
    [(action, request)] = proposed(d)
    assert action == "return_items" and request["order_id"] == KITCHEN_ORDER.id
    assert request["item_ids"] == [i.item_id for i in KITCHEN_ORDER.items if i.name == "Desk Lamp"]
    # asked for, "except" still leaves an item out
    d = decide_on(
        "Please return everything from my kitchen order except the desk lamp, to my gift card.",
        intent="return",
    )
    [(_, request)] = proposed(d)
    assert len(request["item_ids"]) == len(KITCHEN_ORDER.items) - 1


def test_what_everything_else_is_said_to_be_kept_names_is_left_out() -> None:
    lamp = [i.item_id for i in KITCHEN_ORDER.items if i.name == "Desk Lamp"]
    for told in (
        "Everything else in that order (the coffee maker, the charger) is great and I'm keeping "
        "it all, the charger especially is brilliant.",
        "I'm happy with everything else, the coffee maker and the charger included.",
    ):
        d = decide_on(
            f"I'd like to return the desk lamp from my kitchen order, to my gift card. {told}",
            intent="return",
        )
        [(_, request)] = proposed(d)
        assert request["item_ids"] == lamp, told
    # keeping one item and returning the rest is still the rest
    d = decide_on(
        "From my kitchen order I'm keeping the desk lamp; please return the rest, to my gift card.",
        intent="return",
    )
    [(_, request)] = proposed(d)
    assert len(request["item_ids"]) == len(KITCHEN_ORDER.items) - 1


def test_just_the_item_named_after_a_correction_is_all_the_request_is_about() -> None:
    first = "I'd like to send back the desk lamp and the coffee maker from my kitchen order."
    d = decide_on(f"{first}\n\nNo - just the lamp, I'm keeping the coffee maker after all.")
    [(_, request)] = proposed(d)
    assert request["item_ids"] == [i.item_id for i in KITCHEN_ORDER.items if i.name == "Desk Lamp"]


def test_every_product_listed_to_name_the_order_names_the_order() -> None:
    d = decide_on(
        "I want to return the desk lamp from the order that also had the coffee maker and a "
        "portable charger. Refund to my gift card.",
        intent="return",
    )
    [(_, request)] = proposed(d)
    assert request["order_id"] == KITCHEN_ORDER.id
    assert request["item_ids"] == [i.item_id for i in KITCHEN_ORDER.items if i.name == "Desk Lamp"]
    # after a colon the list is over: the lamp is what the request is about
    text = "Two things from the order with the coffee maker: the desk lamp flickers, return it"
    acting = selection.acting_mentions(text, KITCHEN_ORDER.items)
    assert [m.product_id for m in acting] == ["p_lamp"]


def test_a_product_named_to_point_at_the_order_asks_no_item_question() -> None:
    kettle = ORDERS[3]
    d = decide_on(
        "I need one of my pending orders shipped to 55 Elm St, Seattle, WA 98101 please\n\n"
        "the one with the electric kettle",
        intent="modify",  # as the whole conversation reads to the intent model
    )
    assert (d.outcome, [(a, r["order_id"]) for a, r in proposed(d)]) == (
        "confirm",
        [("modify_order_address", kettle.id)],
    )


def test_an_item_said_to_be_lovely_is_not_returned_with_the_other() -> None:
    d = decide_on(
        "From my kitchen order: the coffee maker is lovely, no complaints there, but I'd like "
        "to return the desk lamp please, to my gift card.",
        intent="return",
    )
    [(_, request)] = proposed(d)
    assert request["item_ids"] == [i.item_id for i in KITCHEN_ORDER.items if i.name == "Desk Lamp"]


def test_an_order_kept_as_it_is_by_what_it_holds_is_left_out() -> None:
    laptop = _order(
        "#W2000011", "pending", _item(LAMP, "lamp_black"), _item(PHONES, "phones_black")
    )
    kept = _order("#W2000012", "pending", _item(SHIRT, "shirt_blue_m"), _item(SHIRT, "shirt_red_m"))
    text = (
        "Please cancel my order with the headphones. Keep the other pending one (the t-shirts) "
        "as it is."
    )
    assert references.find_orders(text, [laptop, kept], {"pending"}).orders == [laptop]
    assert not cues.part_of_order(text)


def test_a_price_difference_asked_back_is_explained_not_planned_as_a_return() -> None:
    d = decide_on(
        "I bought a laptop from you and now it's $200 cheaper on your site. Can you refund me "
        "the difference? I want to keep it.",
        intent="refund",
    )
    assert (d.outcome, d.reason, proposed(d)) == ("inform", "no_price_adjustment", [])
    assert "can be returned" in d.requests[0].explanation
    # a return asked for beside it is still a return
    d = decide_on(
        "The laptop is cheaper now; match the price or I'll return it for a full refund.",
        intent="refund",
    )
    assert [a for a, _ in proposed(d)] == ["return_items"]


def test_a_refund_asked_after_for_a_cancelled_order_is_answered_from_its_history() -> None:
    from connectors.schemas import PaymentTransaction

    cancelled = _order("#W2000021", "cancelled", _item(LAMP, "lamp_black"))
    refunded = cancelled.model_copy(
        update={
            "payment_history": [
                *cancelled.payment_history,
                PaymentTransaction(
                    transaction_type="refund",
                    amount=Decimal("30.00"),
                    payment_method_id="credit_card_1000001",
                ),
            ]
        }
    )
    text = (
        "My order with the desk lamp was cancelled but I haven't seen the money back. Where is "
        "my refund??"
    )
    d = decide_on(text, [refunded], intent="refund")
    assert (d.outcome, d.reason) == ("inform", "already_cancelled")
    assert "30.00 to" in d.requests[0].explanation
    assert "credit_card_1000001" in d.requests[0].explanation
    # none recorded: a person looks into it
    d = decide_on(text, [cancelled], intent="refund")
    assert (d.outcome, d.reason) == ("human", "refund_not_received")


def test_the_order_named_by_what_it_holds_wins_over_other_items_in_the_message() -> None:
    kettle, phones = ORDERS[3], ORDERS[4]
    found = references.find_orders(
        "the kettle on my order is too small, i need a bigger one. oh and please cancel the "
        "order with the headphones, i ordered that by mistake",
        ORDERS,
        {"pending"},
    )
    assert [o.id for o in found.orders] == [phones.id]
    assert kettle.id not in [o.id for o in found.orders + found.candidates]


def test_probe_thirteen_items_and_orders_named_in_passing() -> None:
    from flows.customer_service.intake import own_words
    from flows.customer_service.matching import mentions

    # a mail program's footer names nothing
    assert own_words("yes please do\n\nSent from my phone\n\n> earlier") == "yes please do"
    # "to my office" is a place while nothing else names a product
    assert mentions("could you ship my pending order to my office?", {"c": "Office Chair"}) == []
    assert [m.product_id for m in mentions("the office is broken", {"c": "Office Chair"})] == ["c"]
    items = KITCHEN_ORDER.items
    # an item named by the box it came in names the order, not what to return
    text = (
        "The coffee maker I got from you is honestly great. But the desk lamp that came in "
        "the same box as the coffee maker, I'd like to send it back."
    )
    assert [i.item_id for i in selection.pick_items(text, items).items] == [LAMP_ID]
    # only the order's product named: which item is not known
    pick = selection.pick_items(
        "from the order with the coffee maker i'd like to return the blue one", items
    )
    assert COFFEE_ID not in [i.item_id for i in pick.items]


def test_probe_thirteen_addresses() -> None:
    from flows.customer_service.entities import address_in

    found = address_in("77 Bay Street, Unit no. 1204 (12th floor)\nJacksonville, FL 32202")
    assert found is not None and (found.address2, found.city) == (
        "Unit no. 1204 (12th floor)",
        "Jacksonville",
    )
    # the account's address said to stay as it is is not the one to use
    assert (
        references.address_reference(
            "ship my pending order to my office. My home address on the account should stay "
            "as it is.",
            MAYA,
            ORDERS,
        )
        is None
    )
    assert references.address_reference("send it to my home address", MAYA, ORDERS) == MAYA.address
    # an order named by its items but already delivered is explained, not re-addressed
    d = decide_on(
        "please ship the desk lamp order to 12 Oak Street, Springfield, IL 62704",
        intent="address_change",
    )
    assert (d.requests[0].reason, proposed(d)) == ("not_pending", [])


def test_each_item_is_told_apart_by_the_words_before_the_next() -> None:
    two = _order(
        "#W2000031",
        "delivered",
        _item(SHIRT, "shirt_blue_m"),
        _item(SHIRT, "shirt_red_m"),
        _item(LAMP, "lamp_black"),
    )
    pick = selection.pick_items("please return the red shirt and the black desk lamp", two.items)
    assert [i.item_id for i in pick.items] == ["shirt_red_m", "lamp_black"]
    # "black" after "and" describes the headphones, not which backpack
    from test_cs_understanding import _product

    bag = _product(
        "p_bag",
        "Backpack",
        ("bag_black", {"color": "black"}, "50.00", True),
        ("bag_navy", {"color": "navy"}, "50.00", True),
    )
    bags = _order(
        "#W2000032",
        "delivered",
        _item(bag, "bag_black"),
        _item(bag, "bag_navy"),
        _item(PHONES, "phones_black"),
    )
    text = "please return the navy backpack and the black headphones"
    pick = selection.pick_items(text, bags.items)
    assert [i.item_id for i in pick.items] == ["bag_navy", "phones_black"]


def test_one_of_two_identical_items_pointed_back_at_is_one() -> None:
    from test_cs_understanding import SHIRTS_ORDER

    text = "my order has two of the same blue t-shirt by accident. can you return one of them?"
    pick = selection.pick_items(text, SHIRTS_ORDER.items)
    assert [i.item_id for i in pick.items] == ["shirt_blue_s"]
    both = selection.pick_items("please return the two blue t-shirts", SHIRTS_ORDER.items)
    assert [i.item_id for i in both.items] == ["shirt_blue_s", "shirt_blue_s"]


def test_a_change_of_items_with_the_card_for_its_difference_is_that_change() -> None:
    d = decide_on(
        "About #W1000004: can you change it to the 2L glass one? Charge my card for the "
        "difference.",
        intent="payment",
    )
    [(action, request)] = proposed(d)
    assert action == "modify_order_items"
    assert request["new_item_ids"] == ["kettle_2l_glass"]


def test_fine_granted_then_taken_back_keeps_the_item_asked_about() -> None:
    items = KITCHEN_ORDER.items
    text = "the desk lamp I got is fine but the light flickers at night. Can I send it back?"
    assert [i.item_id for i in selection.pick_items(text, items).items] == [LAMP_ID]
    other = "the desk lamp is fine but the coffee maker leaks. Can I send it back?"
    assert [i.item_id for i in selection.pick_items(other, items).items] == [COFFEE_ID]


def test_a_mistyped_order_number_with_its_items_listed_is_proposed_not_acted_on() -> None:
    kettle = ORDERS[3]  # #W1000004
    text = "Please cancel my order #W1000040 (the kettle). I ordered it by mistake."
    d = decide_on(text, intent="cancel", unknown_order_ids=["#W1000040"])
    assert d.outcome == "confirm"  # the number did not match: the customer says yes first
    assert proposed(d) == [
        ("cancel_order", {"order_id": kettle.id, "reason": "ordered by mistake"})
    ]
    # not when the number is further off than one slip
    far = "Please cancel my order #W1000777 (the kettle). I ordered it by mistake."
    d = decide_on(far, intent="cancel", unknown_order_ids=["#W1000777"])
    assert (d.requests[0].reason, proposed(d)) == ("unknown_order", [])


# -- the fourteenth probe ---------------------------------------------------------------------


def test_an_order_number_that_does_not_hold_the_item_described_is_asked_about() -> None:
    kettle, phones = ORDERS[3], ORDERS[4]  # both pending
    d = decide_on(
        f"please cancel order {kettle.id} - it's the headphones, I don't need them anymore",
        intent="cancel",
    )
    assert (d.outcome, d.requests[0].reason, proposed(d)) == (
        "clarify",
        "order_and_items_disagree",
        [],
    )
    listed = " ".join(d.requests[0].details["candidates"])
    assert kettle.id in listed and phones.id in listed
    # the answer picks the order by what is in it; the number given first is set aside
    orders = [o.model_dump(mode="json") for o in ORDERS]
    said = "Sorry, I meant the order with just the headphones in it, not the other one."
    first = f"please cancel order {kettle.id} - it's the headphones"
    meant = described_candidate(d, said, orders, first)
    assert meant == f"{phones.id}, not {kettle.id}"
    assert described_candidate(d, "the kettle one, sorry", orders, first) == kettle.id
    assert described_candidate(d, f"I meant {phones.id}", orders, first) is None
    again = decide_on(
        f"please cancel order {kettle.id} - it's the headphones, I don't need them anymore"
        f"\n\n{said} ({meant})",
        intent="cancel",
    )
    assert [r["order_id"] for _, r in proposed(again)] == [phones.id]
    # an item the numbered order does hold: no question
    held = decide_on(f"please cancel order {kettle.id}, the kettle, no longer needed")
    assert [r["order_id"] for _, r in proposed(held)] == [kettle.id]


def test_no_set_apart_by_a_comma_does_not_negate_keep() -> None:
    d = decide_on(
        "i want to return the coffee maker from my kitchen order... actually no, keep the "
        "coffee maker, return the desk lamp instead. refund to my card",
        intent="return",
    )
    [(_, request)] = proposed(d)
    assert request["item_ids"] == [LAMP_ID]
    assert selection._excluded_spans("I don't want to keep the lamp") == []


def test_cancelling_a_thing_in_an_order_is_part_of_the_order() -> None:
    orders = [ORDERS[0], PENDING_TWO]  # the headphones and the lamp, pending
    d = decide_on("could you cancel the headphones in my pending order?", orders)
    assert (d.outcome, d.requests[0].reason, proposed(d)) == ("clarify", "partial_cancel", [])
    assert not cues.part_of_order("please cancel my headphones order")
    assert not cues.part_of_order("cancel the order with the lamp")


def test_turning_down_the_whole_order_takes_the_cancellation_back() -> None:
    text = (
        "could you cancel the headphones in my pending order?\n\n"
        "No, I don't want to cancel the whole order. Just leave it as it is then."
    )
    assert withdrawn(text)
    assert not withdrawn("I don't want to return the lamp, I want to exchange it")
    d = decide_on(text, [ORDERS[0], PENDING_TWO], intent="cancel")
    assert (d.outcome, proposed(d)) == ("inform", [])


def test_sentences_written_in_lower_case_are_told_apart() -> None:
    assert sentences("no wait dont cancel it. can you change the keyboard instead") == [
        "no wait dont cancel it.",
        "can you change the keyboard instead",
    ]
    # abbreviations and initials do not end a sentence
    assert len(sentences("i live at 12 main st. springfield, see no. 5 and approx. 3 items")) == 1
    assert len(sentences("it is for j. smith")) == 1


def test_taken_back_in_lower_case_then_something_else_asked() -> None:
    d = decide_on(
        "pls cancel my kettle order\n\nno wait dont cancel it. can you change the kettle to the "
        "1.5l one instead",
        intent="cancel",
    )
    assert d.requests[0].reason == "withdrawn"
    assert "cancel_order" not in [a for a, _ in proposed(d)]


KEYBOARD = _product(
    "p_keys",
    "Mechanical Keyboard",
    ("keys_plain", {"switch type": "linear", "backlight": "none"}, "100.00", True),
    ("keys_white", {"switch type": "linear", "backlight": "white"}, "110.00", True),
    ("keys_rgb", {"switch type": "linear", "backlight": "RGB"}, "120.00", False),
    ("keys_tactile", {"switch type": "tactile", "backlight": "none"}, "100.00", True),
)


def test_one_with_an_option_the_item_has_none_of() -> None:
    item = _item(KEYBOARD, "keys_plain")
    choice = matching.choose_variant(
        "change the keyboard to one with a backlight instead", item, KEYBOARD
    )
    assert choice.variant is not None and choice.variant.item_id == "keys_white"


# -- the fifteenth probe ---------------------------------------------------------------------


def _earbuds_order() -> list[OrderItem]:
    rows = [
        ("e1", "p_buds", "Wireless Earbuds", "258.84", {"battery life": "4 hours", "ip": "IPX4"}),
        ("w1", "p_bottle", "Water Bottle", "54.04", {"color": "blue"}),
        ("e2", "p_buds", "Wireless Earbuds", "232.49", {"battery life": "6 hours", "ip": "IPX4"}),
        ("e3", "p_buds", "Wireless Earbuds", "258.97", {"battery life": "4 hours", "ip": "IPX7"}),
        ("b1", "p_shelf", "Bookshelf", "549.84", {"material": "glass"}),
    ]
    return [
        OrderItem(item_id=i, product_id=p, name=n, price=Decimal(pr), options=o)
        for i, p, n, pr, o in rows
    ]


@pytest.mark.parametrize(
    ("text", "picked"),
    [
        # keeping some of the same item is no "everything else"
        (
            "I ordered three pairs of wireless earbuds (all blue) to compare them and I'm "
            "keeping two. Please return the cheapest pair.",
            ["e2"],
        ),
        ("please return the cheapest of my three earbuds", ["e2"]),
        ("return the most expensive earbuds", ["e3"]),
        ("return the earbuds with the 6 hour battery", ["e2"]),
        ("return both earbuds with 4 hours battery", ["e1", "e3"]),
        ("I'm keeping the bookshelf, return the rest", ["e1", "w1", "e2", "e3"]),
    ],
)
def test_one_of_several_of_the_same_item_by_price_count_or_option(
    text: str, picked: list[str]
) -> None:
    assert [i.item_id for i in selection.pick_items(text, _earbuds_order()).items] == picked


def test_keeping_two_of_three_without_saying_which_is_asked_about() -> None:
    pick = selection.pick_items(
        "I'm keeping two of the earbuds, return the other one", _earbuds_order()
    )
    assert (pick.items, pick.problem) == ([], "which_items")


def test_an_item_the_customer_is_glad_of_is_not_returned() -> None:
    d = decide_on(
        "Thank you for your help with the coffee maker last week, it works great now. The desk "
        "lamp from the same order is too dim though, I would like to return the lamp please.",
        intent="return",
    )
    [(_, request)] = proposed(d)
    assert request["item_ids"] == [LAMP_ID]


def test_items_said_to_be_fine_after_the_request_are_left_out() -> None:
    text = (
        "can i swap the coffee maker for another one, the lamp and the charger are all fine "
        "btw no issues there"
    )
    kitchen = KITCHEN_ORDER.items
    assert [i.item_id for i in selection.pick_items(text, kitchen).items] == [COFFEE_ID]


@pytest.mark.parametrize(
    ("text", "taken_back"),
    [
        ("I want to return the lamp.\n\nNo. Forget it, I'll keep it.", True),
        (
            "can I swap the kettle for the 1.5l one?\n\n"
            "No thanks, then I'll just keep the one I have.",
            True,
        ),
        ("the lamp is great, I'll keep it, but return the kettle", False),
        ("I'll keep it. Please return the kettle though", False),
    ],
)
def test_keeping_it_as_it_is_after_the_request_takes_it_back(text: str, taken_back: bool) -> None:
    assert withdrawn(text) is taken_back


def test_a_yes_in_another_language_first() -> None:
    assert is_confirmation("Sí, yes, correct.")
    assert is_confirmation("Oui, merci")
    assert not is_confirmation("Si no es posible, no")


def test_a_typo_corrected_in_the_answer_names_the_order() -> None:
    [span] = split_requests(
        "please change the payment of #W4028615 to my paypal\n\nsorry typo, its #W4082615"
    )
    assert (span.order_ids, span.reference_order_ids) == (["#W4082615"], ["#W4028615"])


def _decide_with_foreign(text: str, foreign: Order) -> Decision:
    """Maya's message naming another customer's order by number."""
    entities = parse_message(text).value
    return decide(
        Situation(
            intent="cancel",
            intent_confidence=0.9,
            entities=entities,
            request_intents=[("cancel", 0.9)],
            customer=MAYA,
            customer_orders=list(ORDERS),
            orders={foreign.id: foreign},
            products=PRODUCTS,
            refund_threshold=Decimal("1000"),
        )
    )


def test_a_number_one_slip_from_an_own_order_is_not_read_as_someone_elses() -> None:
    kettle = ORDERS[3]  # #W1000004, pending: the kettle
    slip = "#W1000044"  # one digit away: another customer's order
    theirs = kettle.model_copy(update={"id": slip, "customer_id": "someone_else_1234"})
    d = _decide_with_foreign(
        f"please cancel order {slip}, the kettle one, ordered by mistake", theirs
    )
    assert d.outcome == "confirm", d
    assert [r["order_id"] for _, r in proposed(d)] == [kettle.id]
    assert "someone_else" not in d.model_dump_json()
    # a number that is not a slip from the items' order stays refused
    far = theirs.model_copy(update={"id": "#W7777777"})
    d = _decide_with_foreign("please cancel order #W7777777, the kettle one, by mistake", far)
    assert (d.outcome, proposed(d)) == ("refuse", [])


def test_a_two_word_product_written_as_one_word() -> None:
    found = matching.mentions("I'd like to exchange my smartwatch", {"p_w": "Smart Watch"})
    assert [(m.product_id, m.tier) for m in found] == [("p_w", 2)]


def test_the_white_one_of_two_of_the_same_product_named_with_the_order() -> None:
    kettles = [
        OrderItem(
            item_id="k1",
            product_id="p_k",
            name="Electric Kettle",
            price=Decimal("40"),
            options={"capacity": "1L", "color": "black"},
        ),
        OrderItem(
            item_id="k2",
            product_id="p_k",
            name="Electric Kettle",
            price=Decimal("55"),
            options={"capacity": "2L", "color": "white"},
        ),
    ]
    text = "my open order has two electric kettles. For the white one, could you make it glass?"
    assert [i.item_id for i in selection.pick_items(text, kettles).items] == ["k2"]


def test_an_item_asked_to_be_another_option_instead_is_a_change_request() -> None:
    assert kind_of("can the luggage set be the 2-piece instead of the 4-piece?") == "change"
    pieces = split_by_action(
        "Please cancel the order with the tablet, I ordered it by mistake. On my other order, "
        "can the luggage set be the 2-piece instead of the 4-piece?"
    )
    assert len(pieces) == 2


def test_an_exchange_beside_an_account_address_change_keeps_its_own_order() -> None:
    text = (
        "Coffee maker exchange and new address\n\nCould I exchange the coffee maker from my "
        "kitchen order for the espresso one?\n\nAlso, I have moved. Please update the address "
        "on my account to 12 Elm Street, Springfield, IL 62704."
    )
    d = decide_on(text)
    assert "not_pending" not in [r.reason for r in d.requests], d
    assert account_address_only(text)
    assert not account_address_only(text + " And send my pending order there too.")


def test_the_new_value_said_before_the_product_and_another_item_set_aside() -> None:
    speaker = CatalogueProduct(
        id="p_sp",
        name="Bluetooth Speaker",
        variants=[
            ProductVariant(
                item_id=i, product_id="p_sp", options=o, price=Decimal("90"), available=True
            )
            for i, o in [
                ("sp_blue", {"color": "blue", "battery life": "10 hours"}),
                ("sp_red", {"color": "red", "battery life": "10 hours"}),
                ("sp_red20", {"color": "red", "battery life": "20 hours"}),
            ]
        ],
    )
    item = OrderItem(
        item_id="sp_blue",
        product_id="p_sp",
        name="Bluetooth Speaker",
        price=Decimal("90"),
        options={"color": "blue", "battery life": "10 hours"},
    )
    lamp = OrderItem(
        item_id="lamp", product_id="p_l", name="Desk Lamp", price=Decimal("30"), options={}
    )
    text = "could the blue one be red instead? The speaker, I mean - not the lamp."
    assert [i.item_id for i in selection.pick_items(text, [item, lamp]).items] == ["sp_blue"]
    choice = matching.choose_variant(text, item, speaker, ["Bluetooth Speaker"])
    assert choice.variant is not None and choice.variant.item_id == "sp_red"


def test_a_size_no_variant_has_is_said_to_be_unavailable_not_replaced() -> None:
    """ "Could I swap them for a size 12 in white?" where the sizes end at 11: the customer is
    told, not offered size 10 because the pair was too small."""
    sneakers = CatalogueProduct(
        id="p_sn",
        name="Trail Sneakers",
        variants=[
            ProductVariant(
                item_id=f"sn_{size}",
                product_id="p_sn",
                options={"size": size, "color": "white"},
                price=Decimal("95"),
                available=True,
            )
            for size in ("8", "9", "10", "11")
        ],
    )
    item = OrderItem(
        item_id="sn_9",
        product_id="p_sn",
        name="Trail Sneakers",
        price=Decimal("95"),
        options={"size": "9", "color": "white"},
    )
    text = "the white trail sneakers are too small. Could I swap them for a size 12 in white?"
    choice = matching.choose_variant(text, item, sneakers)
    assert (choice.variant, choice.problem) == (None, "unavailable")
    bigger = matching.choose_variant(text.replace("size 12", "size 11"), item, sneakers)
    assert bigger.variant is not None and bigger.variant.item_id == "sn_11"
    up = matching.choose_variant("they are too small, one size up please", item, sneakers)
    assert up.variant is not None and up.variant.item_id == "sn_10"


def test_a_colour_no_variant_has_is_said_to_be_unavailable() -> None:
    """ "Could I exchange the white mug for a red one?" where the mugs are white, black and
    blue: the customer is told red is not available, not asked which options they want as if
    they had named none; a colour the catalogue has is still chosen."""
    mug = CatalogueProduct(
        id="p_mug",
        name="Coffee Mug",
        variants=[
            ProductVariant(
                item_id=f"m_{colour}",
                product_id="p_mug",
                options={"color": colour, "capacity": "12oz"},
                price=Decimal("10"),
                available=True,
            )
            for colour in ("white", "black", "blue")
        ],
    )
    item = OrderItem(
        item_id="m_white",
        product_id="p_mug",
        name="Coffee Mug",
        price=Decimal("10"),
        options={"color": "white", "capacity": "12oz"},
    )
    for text in (
        "Could I exchange the white coffee mug for a red one?",
        "I'd like the coffee mug in red instead",
    ):
        choice = matching.choose_variant(text, item, mug)
        assert (choice.variant, choice.problem) == (None, "unavailable"), text
    black = matching.choose_variant("exchange the white coffee mug for a black one", item, mug)
    assert black.variant is not None and black.variant.item_id == "m_black"
    bigger = matching.choose_variant("exchange the white mug for a bigger one", item, mug)
    assert bigger.problem != "unavailable"


def test_one_of_two_items_of_a_product_kept_by_its_colour_and_the_other_exchanged() -> None:
    """ "Yes, but only the blue one - I'll keep the green mug after all": the green mug is set
    aside (not every mug, nor the shears beside them), and the blue one becomes what was
    asked for first ("the white 16oz ones"), not green."""
    mug = CatalogueProduct(
        id="p_mug",
        name="Coffee Mug",
        variants=[
            ProductVariant(
                item_id=f"mug_{c}_{z}",
                product_id="p_mug",
                options={"color": c, "capacity": z},
                price=Decimal("14"),
                available=True,
            )
            for c in ("blue", "green", "white")
            for z in ("12oz", "16oz")
        ],
    )

    def item(item_id: str, name: str, options: dict[str, str]) -> OrderItem:
        pid = "p_mug" if name == "Coffee Mug" else "p_sh"
        return OrderItem(
            item_id=item_id, product_id=pid, name=name, price=Decimal("14"), options=options
        )

    blue = item("mug_blue_12oz", "Coffee Mug", {"color": "blue", "capacity": "12oz"})
    green = item("mug_green_12oz", "Coffee Mug", {"color": "green", "capacity": "12oz"})
    shears = item("sh", "Pruning Shears", {"size": "8in"})
    text = (
        "Mugs\nHi, can I exchange the mugs from order #W6001401 for the white 16oz ones?\n"
        "Yes, but only the blue one - I'll keep the green mug after all."
    )
    picked = selection.pick_items(text, [blue, green, shears]).items
    assert [i.item_id for i in picked] == ["mug_blue_12oz"]
    choice = matching.choose_variant(selection.without_kept(text), blue, mug)
    assert choice.variant is not None and choice.variant.item_id == "mug_white_16oz"


def test_the_same_colours_keep_each_items_colour() -> None:
    """ "Change both t-shirts to size L? Same colours (blue and white)": the blue one stays
    blue, not swapped with the white one."""
    shirt = CatalogueProduct(
        id="p_ts",
        name="T-Shirt",
        variants=[
            ProductVariant(
                item_id=f"ts_{c}_{z}",
                product_id="p_ts",
                options={"size": z, "color": c},
                price=Decimal("20"),
                available=True,
            )
            for c in ("blue", "white")
            for z in ("M", "L")
        ],
    )
    blue = OrderItem(
        item_id="ts_blue_M",
        product_id="p_ts",
        name="T-Shirt",
        price=Decimal("20"),
        options={"size": "M", "color": "blue"},
    )
    text = "Could you change both t-shirts in my order to size L? Same colours (blue and white)."
    choice = matching.choose_variant(text, blue, shirt)
    assert choice.variant is not None and choice.variant.item_id == "ts_blue_L"


def test_a_quantity_with_its_unit_written_out_names_the_option() -> None:
    """ "The 2 liter glass one" names capacity "2L" (probe 19: only the colour was changed,
    the capacity asked for was dropped); "1.5 liter" is not "5L", "2 lamps" no capacity."""
    assert matching.has_value("2L", "The 2 liter glass one. White is fine.", "capacity")
    assert matching.has_value("1.5L", "the 1.5 litre one", "capacity")
    assert matching.has_value("20oz", "a 20 ounce bottle", "capacity")
    assert not matching.has_value("5L", "the 1.5 liter one", "capacity")
    assert not matching.has_value("2L", "I bought 2 lamps", "capacity")


def test_the_new_item_named_before_a_with_in_the_same_sentence_counts() -> None:
    """ "The black ones with IPX7 water resistance": both values name the new earbuds; the
    words after "with" alone made every black pair change two options unasked, and the
    customer was asked the same question again (probe 19)."""
    options = [
        ("black", "4 hours", "IPX7"),
        ("black", "4 hours", "not resistant"),
        ("blue", "6 hours", "IPX4"),
        ("white", "4 hours", "not resistant"),
        ("blue", "8 hours", "IPX4"),
    ]
    earbuds = CatalogueProduct(
        id="p_ear",
        name="Wireless Earbuds",
        variants=[
            ProductVariant(
                item_id=f"ear_{n}",
                product_id="p_ear",
                options={"color": c, "battery life": b, "water resistance": w},
                price=Decimal("100"),
                available=True,
            )
            for n, (c, b, w) in enumerate(options)
        ],
    )
    item = OrderItem(
        item_id="ear_4",
        product_id="p_ear",
        name="Wireless Earbuds",
        price=Decimal("100"),
        options={"color": "blue", "battery life": "8 hours", "water resistance": "IPX4"},
    )
    for text in (
        "exchange the earbuds for the black ones with IPX7 water resistance",
        "I want to exchange the earbuds.\n\nThe black ones with IPX7 water resistance.",
    ):
        choice = matching.choose_variant(text, item, earbuds)
        assert choice.variant is not None and choice.variant.item_id == "ear_0", text


def test_of_two_cards_the_one_named_last_is_meant() -> None:
    """ "Please refund it to my Mastercard ending 2231." then, told it must be the original,
    "Okay, then refund it to the original Visa card.": the Visa, named last; the Mastercard's
    digits earlier in the thread no longer outvote it (probe 19: asked three times)."""
    from connectors.schemas import PaymentMethod
    from flows.customer_service._planning import _narrowed

    visa = PaymentMethod(id="credit_card_1", source="credit_card", brand="visa", last_four="7551")
    master = PaymentMethod(
        id="credit_card_2", source="credit_card", brand="mastercard", last_four="2231"
    )
    thread = (
        "I want to return the glass tea kettle. Please refund it to my Mastercard ending "
        "2231.\n\nOkay, then refund it to the original Visa card."
    )
    assert _narrowed([visa, master], thread) == [visa]
    assert _narrowed([visa, master], "refund it to my card ending 2231") == [master]
    assert _narrowed([visa, master], "refund it to my card") == [visa, master]


def test_an_item_the_order_came_with_names_the_order_not_what_to_return() -> None:
    """ "Return the desk lamp and the shirt from my order that came with the coffee maker":
    the coffee maker only says which order (probe 20: it was returned too)."""
    items = KITCHEN_ORDER.items
    shirt = items[2].item_id
    for text in (
        "hi, want to return the desk lamp and the t-shirt from my order that came with the "
        "coffee maker. lamp is too dim lol.",
        "Please return the lamp and the shirt from the order that included the coffee maker.",
    ):
        picked = [i.item_id for i in selection.pick_items(text, items).items]
        assert picked == [LAMP_ID, shirt], text
    # named with the others, the coffee maker is returned too
    both = "return the coffee maker and the lamp, they came with a scratch"
    assert COFFEE_ID in [i.item_id for i in selection.pick_items(both, items).items]


def test_only_values_the_item_has_already_pick_no_variant() -> None:
    """ "I got a glass tea kettle ... can I exchange the tea kettle for an electric kettle?"
    when the kettle is glass and electric already: nothing new is asked for, so the
    customer is asked which option (probe 20: a 2-litre one was proposed, a change nobody
    asked for). A new value named still picks its variant."""
    kettle = _product(
        "p_tk",
        "Tea Kettle",
        ("tk_1", {"material": "glass", "capacity": "1 liter", "stovetop": "electric"}, "90", True),
        ("tk_2", {"material": "glass", "capacity": "2 liters", "stovetop": "electric"}, "90", True),
        (
            "tk_s",
            {"material": "stainless steel", "capacity": "1 liter", "stovetop": "gas"},
            "90",
            True,
        ),
    )
    item = _item(kettle, "tk_1")
    text = (
        "exchange kettle Hi, I got a glass tea kettle from you but I'd much rather have an "
        "electric kettle. Can I exchange the tea kettle for an electric kettle?"
    )
    choice = matching.choose_variant(text, item, kettle, ["Tea Kettle"])
    assert choice.variant is None and choice.problem == "no_options_named"
    bigger = matching.choose_variant(
        "Can I exchange the glass tea kettle for the 2 liters one?", item, kettle, ["Tea Kettle"]
    )
    assert bigger.variant is not None and bigger.variant.item_id == "tk_2"
