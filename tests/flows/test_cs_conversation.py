"""A conversation with the customer: the flow re-reads the whole thread (the first message and
every answer) on each turn, so an answer must be understood together with what came before;
and the tau benchmark's simulated customer, who answers our questions, knows only what a
customer knows.
"""

from __future__ import annotations

import inspect
import sys
from decimal import Decimal
from pathlib import Path

from test_cs_policy import situation
from test_cs_understanding import KITCHEN_ORDER, LAPTOP_ORDER, _intent, decide_on, proposed

from connectors.schemas import OrderItem
from flows.customer_service.claims import without_identity
from flows.customer_service.entities import is_confirmation, wants_all_items, yes_for
from flows.customer_service.matching import mentions
from flows.customer_service.policy import decide
from flows.customer_service.selection import pick_items

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _cs_customer import Profile, Question, RuleCustomer

THREAD = "{first}\n\n{answer}"

# -- the flow: answers in the context of the conversation -------------------------------------


def test_a_bare_yes_does_not_change_what_the_request_is() -> None:
    first = (
        "The earbuds I got don't pair with my phone, I've reset everything twice and they "
        "still drop out. I think they are faulty and I'd like to send them back for a refund."
    )
    answered = THREAD.format(first=first, answer="Yes, please go ahead.")
    assert without_identity(answered).strip() == first
    assert _intent(without_identity(answered))[0] == _intent(first)[0]


def test_a_yes_with_more_to_say_keeps_what_it_adds() -> None:
    text = "Yes. Also return the desk lamp from the same order."
    assert without_identity(text).strip() == "Also return the desk lamp from the same order."
    assert without_identity("Yes, I want the blue one.") == "Yes, I want the blue one."


def test_cancelling_a_delivered_order_for_a_refund_proposes_a_return() -> None:
    d = decide_on(
        "I'd like to cancel the laptop order and get my money back, the laptop arrived "
        "with a cracked screen",
        intent="cancel",
    )
    assert d.outcome == "confirm"  # proposed, the customer says yes first
    assert [a for a, _ in proposed(d)] == ["return_items"]
    assert proposed(d)[0][1]["order_id"] == LAPTOP_ORDER.id


def test_cancelling_a_delivered_order_without_asking_for_money_is_still_explained() -> None:
    d = decide_on("Please cancel the laptop order, I don't need it anymore", intent="cancel")
    assert (d.outcome, d.reason, proposed(d)) == ("inform", "not_pending", [])
    assert "can be returned instead" in d.requests[0].explanation


def test_a_cancellation_says_its_refund_goes_back_the_way_the_order_was_paid() -> None:
    text = "Please cancel the kettle order, ordered it by mistake. Can the money go on a gift card?"
    d = decide_on(text, intent="cancel")
    [request] = d.requests
    assert request.reason == "cancel_pending"
    assert "back to the original payment method" in request.explanation
    plain = decide_on("Please cancel the kettle order, ordered it by mistake.", intent="cancel")
    assert "original payment method" not in plain.requests[0].explanation


def test_a_question_about_refund_methods_inside_a_return_plans_the_return() -> None:
    d = decide_on(
        "I want to send back the desk lamp from my kitchen order. Which payment methods can "
        "the refund go to? OK, then put it on my gift card please.",
        intent="payment",
    )
    [(action, request)] = proposed(d)
    assert action == "return_items"
    assert request["order_id"] == KITCHEN_ORDER.id
    assert request["payment_method_id"] == "gift_card_1000002"


def test_an_item_the_customer_comes_back_to_later_is_read_with_everything_said_about_it() -> None:
    text = (
        "From my order #W1000002 I'd like to exchange the T-shirt and the portable charger. "
        "The shirt should be red instead of blue, same size. "
        "The charger is too weak for me: I want the 20000mAh one."
    )
    d = decide_on(text, intent="exchange")
    [(_, request)] = proposed(d)
    changed = dict(zip(request["item_ids"], request["new_item_ids"], strict=True))
    assert changed == {"shirt_blue_m": "shirt_red_m", "charger_10k_usbc": "charger_20k_usbc"}


def test_an_answer_naming_the_option_resolves_the_question_about_it() -> None:
    first = "I want to exchange the bookshelf from order #W1000001 for a different one."
    asked = decide_on(first, intent="exchange")
    answered = decide_on(
        THREAD.format(first=first, answer="The one in metal, 5 ft please."), intent="exchange"
    )
    assert asked.outcome == "clarify" and asked.requests[0].details.get("options")
    assert [r["new_item_ids"] for _, r in proposed(answered)] == [["shelf_5_metal"]]


def test_a_fairly_unsure_reading_is_proposed_for_a_yes_instead_of_handed_over() -> None:
    text = "Hi, about #W0000001: I ordered it by mistake, I'd rather not get it."
    unsure = decide(situation(text, "cancel", confidence=0.25))
    assert (unsure.outcome, [a.action for a in unsure.requests[0].actions]) == (
        "confirm",
        ["cancel_order"],
    )
    said_yes = decide(situation(text, "cancel", confidence=0.25, confirmed=True))
    assert said_yes.outcome == "act"
    guess = decide(situation(text, "cancel", confidence=0.1))
    assert (guess.outcome, guess.reason) == ("human", "unclear_request")


# -- the simulated customer knows only the instruction and the profile ------------------------

USER = {
    "name": {"first_name": "Maya", "last_name": "Ortiz"},
    "address": {"address1": "12 Birch Lane", "city": "Denver", "state": "CO", "zip": "80218"},
    "email": "maya@example.com",
    "payment_methods": {
        "paypal_1": {"source": "paypal", "id": "paypal_1"},
        "gift_card_2": {"source": "gift_card", "id": "gift_card_2"},
    },
    "orders": ["#W1000001", "#W1000002"],
}
INSTRUCTION = (
    "Your name is Maya Ortiz and your zip code is 80218. You are busy. You want to return "
    "the desk lamp you received and get the refund on PayPal. If the agent asks for "
    "confirmation, mention you also want to return the coffee maker in the same order."
)


def _customer() -> RuleCustomer:
    return RuleCustomer(INSTRUCTION, Profile.from_user(USER))


def _asking(outcome: str, reason: str, **request: object) -> Question:
    return Question(
        reply="...",
        outcome=outcome,
        reason=reason,
        requests=({"outcome": outcome, "reason": reason, **request},),
    )


def test_the_simulated_customer_is_built_from_instruction_and_profile_only() -> None:
    assert list(inspect.signature(RuleCustomer).parameters)[:2] == ["instruction", "profile"]
    profile = Profile.from_user({**USER, "actions": ["gold"], "outputs": ["gold"]})
    assert "orders" not in vars(profile) and "#W1000001" not in repr(profile)


async def test_it_picks_the_order_its_instruction_describes() -> None:
    question = _asking(
        "clarify",
        "which_order",
        details={
            "candidates": [
                "#W1000001 (delivered: Laptop, Bookshelf)",
                "#W1000002 (delivered: Coffee Maker, Desk Lamp)",
            ]
        },
    )
    assert await _customer().answer(question) == "I mean order #W1000002."


async def test_it_says_what_its_instruction_scripts_once_then_yes() -> None:
    customer = _customer()
    question = _asking("confirm", "return_delivered", proposed=["return Desk Lamp, paypal_1"])
    first = await customer.answer(question)
    assert first is not None and "coffee maker" in first and not first.startswith("Yes")
    assert await customer.answer(question) == "Yes, please go ahead."


async def test_it_corrects_a_proposal_that_is_not_what_it_wants() -> None:
    customer = RuleCustomer(
        "You want to return the desk lamp from order #W1000002 with a refund to PayPal.",
        Profile.from_user(USER),
    )
    wrong_order = _asking("confirm", "x", proposed=["return Desk Lamp from order #W1000001"])
    wrong_method = _asking("confirm", "x", proposed=["return Desk Lamp, refund to gift_card_2"])
    assert (await customer.answer(wrong_order) or "").startswith("No")
    assert (await customer.answer(wrong_method) or "").startswith("No")


async def test_it_gives_its_name_and_zip_when_asked_who_it_is() -> None:
    question = Question(
        reply="... give your first name, last name and zip code in your message",
        outcome="human",
        reason="unauthenticated",
    )
    assert question.asks
    assert await _customer().answer(question) == "My name is Maya Ortiz and my zip code is 80218."


def test_a_yes_that_asks_to_keep_things_as_they_are_is_no_confirmation() -> None:
    assert not is_confirmation("Yes, that's right - keep it as it is")
    assert not is_confirmation("Yes, leave them as they are please")
    assert is_confirmation("Yes, please go ahead.")


def test_a_yes_may_come_after_a_word_of_welcome() -> None:
    assert is_confirmation("Great, yes please go ahead.")
    assert is_confirmation("OK, yes, go ahead and cancel it.")
    assert is_confirmation("Perfect, go ahead.")
    assert not is_confirmation("Fine, no wait.")
    assert not is_confirmation("Good, yes but leave the mat")
    assert not is_confirmation("Great, thanks")  # no yes in it


def test_a_yes_for_only_the_items_proposed_confirms_them_and_nothing_else() -> None:
    first = "I want to send back the desk lamp from my kitchen order, refund to my gift card."
    asked = decide_on(first, intent="return")
    shown = "\n".join(a.summary for r in asked.requests for a in r.actions)
    answer = "Yes, only the desk lamp please."
    assert not is_confirmation(answer) and yes_for(answer) == "the desk lamp"
    said = THREAD.format(first=first, answer=answer)
    done = decide_on(said, intent="return", yes_for=yes_for(answer), shown=shown)
    assert done.outcome == "act" and proposed(done) == proposed(asked)
    # naming another item than the proposal's: asked about again
    other = THREAD.format(first=first, answer="Yes, only the coffee maker.")
    again = decide_on(other, intent="return", yes_for="the coffee maker", shown=shown)
    assert again.outcome == "confirm"
    # more said after it, or a condition: no yes_for
    assert yes_for("Yes, only the lamp, refund to my visa") is None
    assert yes_for("Yes, only the lamp and the mat") is None
    assert yes_for("Yes, but leave the backpack") is None
    # a go-ahead after it adds nothing (probe 20: "Yes, just the earbuds. Go ahead." was
    # proposed again)
    assert yes_for("Yes, just the desk lamp. Go ahead.") == "the desk lamp"
    assert yes_for("yes only the lamp, please proceed, thanks") == "the lamp"


def test_rather_than_returning_it_withdraws_the_return_asked_before() -> None:
    first = "I want to return the desk lamp from my kitchen order, refund to my gift card."
    answer = (
        "Actually, wait - rather than returning it, could I exchange it for another desk "
        "lamp? Any difference to my gift card."
    )
    d = decide_on(THREAD.format(first=first, answer=answer))
    assert "return_items" not in [action for action, _ in proposed(d)]
    assert any(r.reason == "withdrawn" for r in d.requests)


def test_a_product_called_by_the_first_word_of_its_name() -> None:
    names = {"vac": "Vacuum Cleaner", "fleece": "Fleece Jacket", "chair": "Office Chair"}
    found = mentions("return the vacuum from my recent delivery", names)
    assert [m.product_id for m in found] == ["vac"]
    assert [m.product_id for m in mentions("the black fleece I bought", names)] == ["fleece"]
    # only when nothing else names a product: "office" is then a place
    with_lamp = {**names, "lamp": "Desk Lamp"}
    found = mentions("I need the desk lamp for my office", with_lamp)
    assert [m.product_id for m in found] == ["lamp"]
    found = mentions("I need the desk lamp, please send it to the office", with_lamp)
    assert [m.product_id for m in found] == ["lamp"]
    # beside another product, where a request asks for it
    text = "return the desk lamp. Could you add the robot vacuum from the same order too?"
    assert [m.product_id for m in mentions(text, with_lamp)] == ["lamp", "vac"]
    # a describing word alone is no product
    assert mentions("the electric one", {"k": "Electric Kettle"}) == []


def test_the_last_word_on_an_item_decides_whether_it_is_kept() -> None:
    items = KITCHEN_ORDER.items
    text = (
        "I want to return the coffee maker, refund to PayPal.\n\nSorry, my mistake - it's "
        "the desk lamp I want to return, not the coffee maker. Keep the coffee maker."
    )
    assert [i.name for i in pick_items(text, items).items] == ["Desk Lamp"]
    later = "Keep the coffee maker, return the desk lamp.\n\nActually return the coffee maker too."
    assert {i.name for i in pick_items(later, items).items} == {"Desk Lamp", "Coffee Maker"}


def test_a_yes_confirms_only_the_writes_our_reply_listed() -> None:
    first = "I want to send back the desk lamp from my kitchen order, refund to my gift card."
    asked = decide_on(first, intent="return")
    assert asked.outcome == "confirm"
    shown = "We can do this for you:\n" + "\n".join(
        a.summary for r in asked.requests for a in r.actions
    )
    # "yes" to what was listed: done
    same = decide_on(
        THREAD.format(first=first, answer="Yes"), intent="return", confirmed=True, shown=shown
    )
    assert same.outcome == "act"
    # "yes, and another item too": the return is now another one, proposed again whole
    more = THREAD.format(first=first, answer="Yes, and the coffee maker from that order too.")
    grown = decide_on(more, intent="return", confirmed=True, shown=shown)
    assert grown.outcome == "confirm"
    assert len(proposed(grown)[0][1]["item_ids"]) == 2


def test_an_order_said_to_stay_as_it_is_is_not_sent_elsewhere() -> None:
    text = (
        "My order with the kettle should go to my studio instead: 4420 Park Boulevard, Unit B, "
        "San Diego, CA 92116. The other order (the headphones) can still come to my home, "
        "don't change that one."
    )
    d = decide_on(text, intent="address_change")
    assert [(a, r["order_id"]) for a, r in proposed(d)] == [("modify_order_address", "#W1000004")]


def test_everything_else_i_am_keeping_leaves_it_out_of_the_return() -> None:
    text = (
        "From my kitchen order could I please send back just the coffee maker? Everything "
        "else from that parcel I'm keeping - the lamp is lovely and I live in the shirt."
    )
    items = pick_items(text, KITCHEN_ORDER.items).items
    assert [i.name for i in items] == ["Coffee Maker"]


def test_a_yes_then_only_what_it_is_for() -> None:
    assert yes_for("Yes, is correct. Only the backpack.") == "the backpack"
    assert yes_for("Yes. Only the backpack, and the mat.") is None


def test_the_same_write_asked_for_twice_is_made_once() -> None:
    from flows.customer_service.policy import _without_repeats
    from flows.customer_service.schemas import PlannedAction, RequestPlan

    cancel = PlannedAction(
        action="cancel_order",
        order_id="#W1",
        request={"order_id": "#W1", "reason": "no longer needed"},
        summary="cancel order #W1",
    )
    first = RequestPlan(
        intent="return", outcome="act", reason="x", explanation="", actions=[cancel]
    )
    again = first.model_copy(update={"intent": "cancel"})
    assert _without_repeats([first, again]) == [first]


def test_a_proposal_turned_down_and_proposed_again_goes_to_a_person() -> None:
    from flows.customer_service.nodes import _declined, _proposed
    from flows.customer_service.policy import hand_over

    first = "I want to send back the desk lamp from my kitchen order, refund to my gift card."
    asked = decide_on(first, intent="return")
    assert asked.outcome == "confirm"
    state: dict[str, object] = {
        "turn": 2,
        "decision": asked.model_dump(mode="json"),
        "conversation": [
            {"role": "customer", "text": first},
            {"role": "agent", "text": "..."},
            {"role": "customer", "text": "No, that's not it, the other lamp."},
        ],
    }
    assert _declined(state, asked) == _proposed(asked) != set()  # type: ignore[arg-type]
    person = hand_over(asked, "proposal_declined", "a colleague will pick this up", of="confirm")
    assert person.outcome == "human" and person.requests[0].outcome == "human"
    # a yes, "no other changes", or a different proposal: no hand-over
    for answer in ("Yes please.", "No other changes, please go ahead."):
        state["conversation"] = [{"role": "customer", "text": answer}]
        assert not _declined(state, asked)  # type: ignore[arg-type]
    state["conversation"] = [{"role": "customer", "text": "No, the coffee maker too."}]
    grown = decide_on(f"{first}\n\nNo, the coffee maker too.", intent="return")
    assert not _declined(state, grown)  # type: ignore[arg-type]


def test_a_proposal_turned_down_for_another_request_is_set_aside() -> None:
    from test_cs_policy import situation

    from flows.customer_service.nodes import _declined
    from flows.customer_service.policy import without_declined

    first = "I want to send back the desk lamp from my kitchen order, refund to my gift card."
    asked = decide_on(first, intent="return")
    answer = "No, not that one. I meant: please cancel the kettle order, ordered it by mistake."
    both = decide_on(f"{first}\n\n{answer}")
    assert sorted(a for a, _ in proposed(both)) == ["cancel_order", "return_items"]
    state = {
        "turn": 2,
        "decision": asked.model_dump(mode="json"),
        "conversation": [{"role": "customer", "text": answer}],
    }
    declined = _declined(state, both)  # type: ignore[arg-type]
    assert declined == {a.summary for r in asked.requests for a in r.actions}
    left = without_declined(both, declined, situation(f"{first}\n\n{answer}", "cancel"))
    assert left.outcome == "confirm"
    assert [a for a, _ in proposed(left)] == ["cancel_order"]
    assert "declined" in [r.reason for r in left.requests]


def test_short_yeses_and_items_kept_or_fine_named_first() -> None:
    for answer in ("ok do it", "yesss thx", "ok", "do it", "yeahh sure"):
        assert is_confirmation(answer), answer
    for answer in ("ok but leave the mat", "ok, what about the lamp?", "ok I see"):
        assert not is_confirmation(answer), answer
    items = KITCHEN_ORDER.items
    kept = "Please return the desk lamp and the coffee maker. The shirt I am keeping."
    assert {i.name for i in pick_items(kept, items).items} == {"Desk Lamp", "Coffee Maker"}
    fine = "The coffee maker, the shirt and the charger are fine. I want to return the desk lamp."
    assert [i.name for i in pick_items(fine, items).items] == ["Desk Lamp"]
    # "I'm keeping the coffee maker": about the coffee maker, not the lamp before it
    other = "Return the desk lamp, I'm keeping the coffee maker."
    assert [i.name for i in pick_items(other, items).items] == ["Desk Lamp"]


def test_a_refund_method_turned_down_with_words_between() -> None:
    text = (
        "I want to send back the desk lamp from my kitchen order. I'd prefer store credit on "
        "my gift card rather than a refund to the card I paid with."
    )
    d = decide_on(text, intent="return")
    methods = [r.get("payment_method_id") for _, r in proposed(d)]
    assert methods and "credit_card_1000001" not in methods


def test_a_payment_question_beside_a_proposed_payment_change_is_that_change() -> None:
    from flows.customer_service.policy import _without_repeats
    from flows.customer_service.schemas import PlannedAction, RequestPlan

    question = RequestPlan(
        intent="payment", outcome="human", reason="payment_question", explanation=""
    )
    pay = PlannedAction(
        action="modify_order_payment",
        order_id="#W1",
        request={"order_id": "#W1", "payment_method_id": "credit_card_1"},
        summary="pay order #W1 with Visa",
    )
    change = RequestPlan(
        intent="payment", outcome="confirm", reason="modify_payment", explanation="", actions=[pay]
    )
    assert _without_repeats([question, change]) == [change]
    assert _without_repeats([question]) == [question]


def test_an_order_said_to_be_kept_by_its_product_is_not_cancelled() -> None:
    text = (
        "Please cancel my order with the kettle - no longer needed.\n\nSorry, I meant the "
        "other order - the one with the headphones. Please keep the kettle order, and cancel "
        "that one instead (no longer needed)."
    )
    d = decide_on(text, intent="cancel")
    assert [r["order_id"] for _, r in proposed(d)] == ["#W1000005"]


def test_a_yes_with_its_reason_is_a_yes() -> None:
    for answer in (
        "yes, cancel it - i just dont need it anymore",
        "Yes. I don't need it any more.",
        "ya go ahead",
        "Yea, do it",
    ):
        assert is_confirmation(answer), answer
    for answer in ("yes, I just need the lamp", "yes but I don't want the mat", "yay!"):
        assert not is_confirmation(answer), answer


def test_plurals_in_es_name_their_product() -> None:
    names = {"w": "Wristwatch", "g": "Sunglasses"}
    assert [m.product_id for m in mentions("the one with the watches", names)] == ["w"]
    assert [m.product_id for m in mentions("my sunglasses broke", names)] == ["g"]
    # an option's glass is no pair of sunglasses
    assert mentions("the shelf in glass, not wood", names) == []


def test_one_of_two_different_items_named_twice_is_still_one_to_ask_about() -> None:
    """ "T-shirt" in the subject and "the t-shirt" in the message are the same one shirt: with
    a white and a black one in the order, the customer is asked which, not both returned."""
    shirts = [
        OrderItem(item_id=n, product_id="t", name="T-Shirt", price=Decimal(9), options={"color": c})
        for n, c in (("1", "white"), ("2", "black"))
    ]
    text = "T-shirt\nHi, the t-shirt from order #W5000301 shrank in the wash. I'd like to return it"
    pick = pick_items(text, shirts)
    assert (pick.items, pick.problem) == ([], "which_items")
    # each mention described by its own option: both
    both = "Please return the white t-shirt and the black t-shirt."
    assert [i.item_id for i in pick_items(both, shirts).items] == ["1", "2"]


def test_a_dash_ends_what_an_except_sets_aside() -> None:
    items = KITCHEN_ORDER.items
    text = (
        "I'd like to send back everything except the coffee maker - so the desk lamp, the "
        "t-shirt and the charger really. Refund to PayPal."
    )
    picked = pick_items(text, items, all_items=True).items
    assert {i.name for i in picked} == {"Desk Lamp", "T-Shirt", "Portable Charger"}


def test_a_reply_that_asks_after_acting_does_not_say_nothing_was_changed() -> None:
    from flows.customer_service.facts import reply_facts
    from flows.customer_service.tasks import PROMPTS

    def request(outcome: str, summary: str | None) -> dict[str, object]:
        return {
            "intent": "exchange",
            "outcome": outcome,
            "reason": outcome,
            "explanation": "please tell us which items you would like to return",
            "order_ids": [],
            "actions": [{"summary": summary}] if summary else [],
        }

    def reply(template: str, *requests: dict[str, object]) -> str:
        facts = reply_facts({"decision": {"requests": list(requests)}})
        return PROMPTS.render(template, facts=facts).text

    done = request("act", "exchange Electric Kettle (capacity 1.7L to 1.2L)")
    asked = reply("clarify.offline.j2", request("clarify", None), done)
    assert "Done: exchange" in asked and "Nothing else has been changed yet." in asked
    assert "Nothing has been changed yet." in reply("clarify.offline.j2", request("clarify", None))
    proposed = reply("confirm.offline.j2", request("confirm", "cancel order #W1"), done)
    assert "Before we change anything else," in proposed
    assert "Nothing else has been changed yet." in proposed
    assert "Before we change anything," in reply("confirm.offline.j2", request("confirm", "x"))


def test_a_count_said_with_any_mention_of_alike_items_is_kept() -> None:
    mug = OrderItem(item_id="m", product_id="mug", name="Coffee Mug", price=Decimal(12), options={})
    grinder = OrderItem(
        item_id="g", product_id="gr", name="Coffee Grinder", price=Decimal(4), options={}
    )
    items = [mug, mug, mug, grinder]
    first = "Mugs\nI'd like to return two of the three white mugs from order #W6000301."
    assert [i.item_id for i in pick_items(first, items).items] == ["m", "m"]
    # the answer keeps the rest: the count still holds
    answer = f"{first}\nYes, two of the mugs, I keep the third one and the grinder."
    assert [i.item_id for i in pick_items(answer, items).items] == ["m", "m"]


def test_the_last_of_two_options_named_is_the_one_meant() -> None:
    """ "the blue one, sorry, I mean the black one": the correction decides."""
    sweaters = [
        OrderItem(item_id=n, product_id="s", name="Sweater", price=Decimal(9), options={"color": c})
        for n, c in (("1", "blue"), ("2", "black"))
    ]
    text = (
        "Hi, I want to return one of the two sweaters I got - the blue one, sorry, I mean the "
        "black one. I'm keeping the blue. Refund to my card please."
    )
    assert [i.item_id for i in pick_items(text, sweaters).items] == ["2"]
    # "keep the black one" names the one kept, not the one meant
    kept = "Return one of the sweaters, the blue one. I keep the black one."
    assert [i.item_id for i in pick_items(kept, sweaters).items] == ["1"]


def test_an_item_that_fits_fine_is_kept() -> None:
    items = [
        OrderItem(item_id="s", product_id="ps", name="Wool Sweater", price=Decimal(9), options={}),
        OrderItem(item_id="t", product_id="pt", name="T-Shirt", price=Decimal(9), options={}),
    ]
    text = (
        "the sweater in my last order is too big. Can I exchange it for the same one in a "
        "medium? The t-shirt fits fine, I'm keeping that one."
    )
    assert [i.item_id for i in pick_items(text, items).items] == ["s"]
    # of the very item asked for, it is a reason, not a keep
    reason = "I want to return the t-shirt, it fits fine but I never wear it"
    assert [i.item_id for i in pick_items(reason, items).items] == ["t"]


def test_thats_everything_with_a_yes_asks_for_no_more_items() -> None:
    """Our proposal asks the customer to make sure every item is listed; "Yes, that's
    everything, please go ahead." confirms the one item proposed, it does not ask for the
    whole order back (probe 19: a faulty espresso machine became all four items)."""
    first = "The espresso machine I received is faulty. I'd like to return it."
    answered = THREAD.format(first=first, answer="Yes, that's everything, please go ahead.")
    assert not wants_all_items(answered)
    assert without_identity(answered).strip() == first
    assert is_confirmation("Yes, that's everything, please go ahead.")
    assert wants_all_items(f"{first} Actually, please return everything from that order.")
