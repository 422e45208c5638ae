"""Customer service: understand a message, know the customer, act within policy, answer."""

from bpa.flows import Flow
from flows.customer_service.graph import build_graph
from flows.customer_service.intake import load_input, run_key
from flows.customer_service.output import make_output
from flows.customer_service.state import CSDecision, CustomerMessage
from flows.customer_service.tasks import INTENT
from flows.customer_service.threads import accepts_reply, reply_keys

__all__ = ["CustomerMessage", "flow"]

flow = Flow(
    name="customer_service",
    version="1.0.0",
    description=(
        "Answers a customer's e-mail or chat: classifies the request, authenticates the "
        "customer, reviews their orders, acts within the store's policy (refunds above a "
        "threshold wait for a person), keeps a ticket, replies with facts and follows up."
    ),
    build_graph=build_graph,  # type: ignore[arg-type]  # Flow types it as StateGraph[Any, None, ...]
    input_model=CustomerMessage,
    make_output=make_output,
    decision_model=CSDecision,
    load_input=load_input,
    input_suffixes=(".json", ".eml"),
    run_key=run_key,
    reply_keys=reply_keys,
    accepts_reply=accepts_reply,
    connectors=("crm", "ticketing", "mail"),
    classify_tasks=(INTENT,),
)
