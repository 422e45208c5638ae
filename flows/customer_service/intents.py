"""The flow's closed set of intents, and how the bitext training data maps onto it.

The flow only needs to know what the customer wants done with an order or an account, so
bitext's 27 fine intents collapse onto ten. Everything the store's policy leaves to a
human (accounts, newsletters, "let me talk to a person") is ``other``; feedback of any
kind is ``complaint`` (a human reads it either way).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["BITEXT_TO_INTENT", "INTENTS", "Intent"]

Intent = Literal[
    "order_status",
    "cancel",
    "modify",
    "return",
    "exchange",
    "refund",
    "address_change",
    "payment",
    "complaint",
    "other",
]
INTENTS: tuple[str, ...] = (
    "order_status",
    "cancel",
    "modify",
    "return",
    "exchange",
    "refund",
    "address_change",
    "payment",
    "complaint",
    "other",
)

#: bitext `intent` -> the flow's intent. bitext has no return, exchange or "change an item's
#: option" utterances: fixtures/customer_service/make_subset.py writes those from templates.
BITEXT_TO_INTENT: dict[str, str] = {
    "track_order": "order_status",
    "delivery_period": "order_status",
    "cancel_order": "cancel",
    "check_cancellation_fee": "cancel",
    "change_order": "modify",
    "get_refund": "refund",
    "track_refund": "refund",
    "check_refund_policy": "refund",
    "change_shipping_address": "address_change",
    "set_up_shipping_address": "address_change",
    "payment_issue": "payment",
    "check_payment_methods": "payment",
    "check_invoice": "payment",
    "get_invoice": "payment",
    "complaint": "complaint",
    "review": "complaint",
    "delivery_options": "other",
    "place_order": "other",
    "contact_customer_service": "other",
    "contact_human_agent": "other",
    "create_account": "other",
    "delete_account": "other",
    "edit_account": "other",
    "recover_password": "other",
    "registration_problems": "other",
    "switch_account": "other",
    "newsletter_subscription": "other",
}
