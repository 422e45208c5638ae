"""The model planner: with a model backend, the model reads the account through tools and
proposes what to do; the policy checks the proposal and decides.

The tools only read, and only what belongs to the customer the channel identified (their
profile, their orders) or to the store (the catalogue): an id of another customer's order or
account gets the same "not found on this account" answer as an id that does not exist. The
model's answer is a `Proposal`; each proposed write is checked by `proposals.check` against
the rules the rule planners follow, and becomes a ``confirm`` (the customer's explicit yes
first). A write runs only once the customer said yes to a reply that listed it, or when the
rule planner, reading the same request, would have made exactly that write. A refused
proposal is recorded (`planner_refused`) and that request is decided by the rule planner.
Nothing here writes: writes stay in `nodes_act.perform_actions`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from bpa.models import PlanTask, Tool
from bpa.models.gateway import current_node
from bpa.runs.context import RunContext
from connectors.errors import NotFound
from connectors.kinds import CRMConnector
from connectors.schemas import (
    CatalogueProduct,
    CatalogueProductRef,
    Customer,
    CustomerOrders,
    Order,
    OrderRef,
)
from flows.customer_service import policy, proposals
from flows.customer_service.intents import INTENTS
from flows.customer_service.proposals import Proposal, ProposedRequest, Refusal, Scope
from flows.customer_service.schemas import Decision, RequestPlan
from flows.customer_service.state import CSState
from flows.customer_service.tasks import PROMPTS

__all__ = ["PLANNER", "AccountReader", "applies", "confirmation", "decide_with_model"]

PLANNER = PlanTask(
    name="customer_request_plan",
    schema=Proposal,
    prompts=PROMPTS,
    prompt="plan_requests.j2",
    submit="submit_plan",
    description="Submit the plan: one entry per request, with the writes to propose.",
)
_MODEL_CHARS = 8000
_AUTHOR = "bpa:customer_service"
_NOT_HERE = "no such {what} on the account of the customer in this conversation"


class FindCustomer(BaseModel):
    """The customer of this conversation, if the e-mail or the name and zip code are theirs."""

    email: str | None = Field(default=None, max_length=320)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    zip: str | None = Field(default=None, max_length=20)


class ListOrders(BaseModel):
    """The customer's orders, oldest first."""

    customer_id: str | None = Field(
        default=None, max_length=80, description="leave out: the customer in this conversation"
    )


class GetOrder(BaseModel):
    order_id: str = Field(min_length=1, max_length=40, description="e.g. #W1234567")


class GetProduct(BaseModel):
    product_id: str = Field(min_length=1, max_length=80)


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b) and (a or "").strip().casefold() == (b or "").strip().casefold()


def _order(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "status": order.status,
        "items": [
            {
                "item_id": i.item_id,
                "product_id": i.product_id,
                "name": i.name,
                "options": i.options,
                "price": str(i.price),
            }
            for i in order.items
        ],
        "total": str(order.total),
        "paid_with": order.paid_with,
        "ships_to": order.address.one_line(),
    }


@dataclass
class AccountReader:
    """The planner's tools, bound to one identified customer."""

    crm: CRMConnector
    customer: Customer
    #: Catalogue entries read so far (the policy checks new items against them).
    products: dict[str, CatalogueProduct] = field(default_factory=dict)

    def tools(self) -> list[Tool]:
        return [
            Tool("find_customer", FindCustomer.__doc__ or "", FindCustomer, self.find_customer),
            Tool("list_orders", ListOrders.__doc__ or "", ListOrders, self.list_orders),
            Tool("get_order", "One of the customer's orders.", GetOrder, self.get_order),
            Tool("get_product", "A catalogue product and its variants.", GetProduct, self.product),
        ]

    async def find_customer(self, args: FindCustomer) -> dict[str, Any]:
        me = self.customer
        by_email = _same(args.email, me.email)
        by_name = (
            _same(args.first_name, me.first_name)
            and _same(args.last_name, me.last_name)
            and _same(args.zip, me.address.zip)
        )
        if not (by_email or by_name):
            return {"error": "only the customer in this conversation can be looked up"}
        return {
            "customer_id": me.id,
            "name": me.name,
            "default_address": me.address.one_line(),
            "payment_methods": [
                m.model_dump(mode="json", exclude_none=True) for m in me.payment_methods
            ],
            "order_ids": me.order_ids,
        }

    async def list_orders(self, args: ListOrders) -> dict[str, Any]:
        if args.customer_id not in (None, "", self.customer.id):
            return {"error": "only the orders of the customer in this conversation can be read"}
        orders = await self.crm.list_customer_orders(CustomerOrders(customer_id=self.customer.id))
        return {"orders": [_order(o) for o in orders]}

    async def get_order(self, args: GetOrder) -> dict[str, Any]:
        try:
            order = await self.crm.get_order(OrderRef(order_id=args.order_id))
        except NotFound:
            order = None
        if order is None or order.customer_id != self.customer.id:
            return {"error": _NOT_HERE.format(what="order")}
        return _order(order)

    async def product(self, args: GetProduct) -> dict[str, Any]:
        found = await self.catalogue(args.product_id)
        if found is None:
            return {"error": "no such product in the catalogue"}
        return {
            "product_id": found.id,
            "name": found.name,
            "variants": [
                {
                    "item_id": v.item_id,
                    "options": v.options,
                    "available": v.available,
                    "price": str(v.price),
                }
                for v in found.variants
            ],
        }

    async def catalogue(self, product_id: str) -> CatalogueProduct | None:
        if product_id not in self.products:
            try:
                ref = CatalogueProductRef(product_id=product_id)
                self.products[product_id] = await self.crm.get_catalogue_product(ref)
            except NotFound:
                return None
        return self.products[product_id]


def applies(s: policy.Situation, rules: Decision) -> bool:
    """The model plans only for a customer the channel identified, in a message with no
    input problem and no other customer's order (those the rules settle before planning)."""
    problems = any(p in policy.PROBLEM_REASONS for p in s.problems)
    return s.customer is not None and not problems and rules.reason != "other_customers_order"


async def decide_with_model(
    ctx: RunContext, state: CSState, s: policy.Situation, rules: Decision
) -> Decision:
    """The decision from the model's checked proposal; `rules` when the model planner is not
    there or fails, and per request where its proposal is refused or empty."""
    assert s.customer is not None
    reader = AccountReader(ctx.connector(CRMConnector), s.customer, dict(s.products))
    text = (state.get("text") or "")[:_MODEL_CHARS]
    planning = await ctx.models.plan(
        PLANNER, tools=reader.tools(), text=text, intents=list(INTENTS)
    )
    node = current_node()
    if planning.value is None:
        ctx.audit.record("planner_decided", {"planner": "rules", "why": planning.reason}, node=node)
        return rules
    proposal = planning.value
    for request in proposal.requests:
        for write in request.actions:
            order = next((o for o in s.customer_orders if o.id == write.order_id), None)
            for item in order.items if order else []:
                if item.item_id in write.item_ids:
                    await reader.catalogue(item.product_id)
    scope = Scope(s.customer, s.customer_orders, reader.products)
    paired = len(rules.requests) == len(proposal.requests)
    shown = s.shown if s.shown is not None else shown_to_customer(state)
    requests: list[RequestPlan] = []
    refused = 0
    for index, proposed in enumerate(proposal.requests):
        rule = rules.requests[index] if paired else None
        fallback = rule or _for_a_person(proposed)
        if not proposed.actions and proposed.intent != "order_status":
            requests.append(fallback)
            continue
        checked = proposals.check(proposed, scope)
        if isinstance(checked, Refusal):
            refused += 1
            ctx.audit.record("planner_refused", _refusal(index, proposed, checked), node=node)
            requests.append(fallback)
            continue
        requests.append(confirmation(checked, rule, confirmed=s.confirmed, shown=shown))
    decision = policy.decide_requests(requests, s)
    ctx.audit.record(
        "planner_decided",
        {
            "planner": "model",
            "refused": refused,
            "requests": [
                {"intent": r.intent, "outcome": r.outcome, "reason": r.reason} for r in requests
            ],
        },
        node=node,
    )
    return decision


def _for_a_person(proposed: ProposedRequest) -> RequestPlan:
    return RequestPlan(
        intent=proposed.intent,
        outcome="human",
        reason="needs_a_person",
        explanation="a colleague will help you with this request",
    )


def _refusal(index: int, proposed: ProposedRequest, refusal: Refusal) -> dict[str, Any]:
    return {
        "request": index,
        "intent": proposed.intent,
        "action": refusal.kind,
        "order_id": refusal.order_id,
        "reason": refusal.reason,
        "explanation": refusal.explanation,
    }


def shown_to_customer(state: CSState) -> str:
    """What our replies in this conversation told the customer (their yes answers that):
    the public comments of its ticket and the reply of the run's previous turn."""
    tickets = [state.get("thread") or {}, state.get("ticket") or {}]
    replies = [
        str(c.get("body") or "")
        for ticket in tickets
        for c in ticket.get("comments") or []
        if c.get("visibility") == "public" and c.get("author") == _AUTHOR
    ]
    return "\n".join([*replies, str(state.get("reply") or "")])


def _writes(plan: RequestPlan) -> list[str]:
    return [json.dumps([a.action, a.request], sort_keys=True, default=str) for a in plan.actions]


def confirmation(
    checked: RequestPlan, rule: RequestPlan | None, *, confirmed: bool, shown: str
) -> RequestPlan:
    """``act`` only on an explicit yes to a reply that listed these very writes; or the rule
    plan when it makes the same writes (its own confirmation rules then apply)."""
    if rule is not None and rule.actions and _writes(rule) == _writes(checked):
        return rule
    if confirmed and policy.listed(checked.actions, shown):
        return checked.model_copy(update={"outcome": "act"})
    return checked
