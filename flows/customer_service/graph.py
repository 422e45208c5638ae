"""The customer-service graph: the only place that adds nodes and edges."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from bpa.runs.context import RunContext
from connectors.errors import Transient
from flows.customer_service import nodes, nodes_act, nodes_reply, threads
from flows.customer_service.state import CSState, CustomerMessage

__all__ = ["build_graph"]

_CONNECTOR = {"kind": "connector"}
_CONNECTOR_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.2, retry_on=Transient)


def route_after_read(state: CSState) -> Literal["find_thread", "classify_intent"]:
    return "find_thread" if state.get("in_reply_to") else "classify_intent"


def route_after_identify(state: CSState) -> Literal["review_account", "decide"]:
    return "review_account" if state.get("customer") else "decide"


def route_after_ticket(
    state: CSState,
) -> Literal["request_approval", "perform_actions", "note_ticket"]:
    decision = state["decision"]
    acting = any(r["outcome"] == "act" for r in decision["requests"])
    if acting and decision["needs_approval"]:
        return "request_approval"
    return "perform_actions" if acting else "note_ticket"


def route_after_approval(state: CSState) -> Literal["perform_actions", "note_ticket"]:
    return (
        "perform_actions"
        if (state.get("review") or {}).get("action") == "approve"
        else ("note_ticket")
    )


def route_after_note(state: CSState) -> Literal["generate_reply", "set_ticket_status"]:
    """A conversation that ended without the customer's word (no answer in time, or a person
    took it over) gets no reply: the ticket goes to a person as it is."""
    quiet = state.get("thread_end") in ("expired", "handed_over")
    return "set_ticket_status" if quiet else "generate_reply"


def route_after_status(state: CSState) -> Literal["await_customer", "schedule_follow_up"]:
    return "await_customer" if threads.waits(state) else "schedule_follow_up"


def route_after_await(state: CSState) -> Literal["classify_intent", "note_ticket"]:
    """The customer's answer is read with the whole conversation; an ended one is noted."""
    return "note_ticket" if state.get("thread_end") else "classify_intent"


def route_after_reply(state: CSState) -> Literal["send_reply", "post_reply"]:
    """E-mail answers by e-mail, except to a From the gateway found forged (its owner did not
    write): that reply stays in the ticket."""
    sender = state.get("sender") or {}
    forged = sender.get("verified") is False
    email = state.get("channel") == "email" and sender.get("email") and not forged
    return "send_reply" if email else "post_reply"


def build_graph() -> StateGraph[CSState, RunContext, CustomerMessage, CSState]:
    graph = StateGraph(CSState, context_schema=RunContext, input_schema=CustomerMessage)
    graph.add_node("read_message", nodes.read_message, metadata={"kind": "parse"})
    graph.add_node(
        "find_thread", nodes.find_thread, metadata=_CONNECTOR, retry_policy=_CONNECTOR_RETRY
    )
    graph.add_node("classify_intent", nodes.classify_intent, metadata={"kind": "model"})
    graph.add_node("extract_entities", nodes.extract_entities, metadata={"kind": "model"})
    graph.add_node(
        "identify_customer",
        nodes.identify_customer,
        metadata=_CONNECTOR,
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node(
        "review_account", nodes.review_account, metadata=_CONNECTOR, retry_policy=_CONNECTOR_RETRY
    )
    graph.add_node("decide", nodes.decide, metadata={"kind": "decision"})
    graph.add_node(
        "open_ticket", nodes_act.open_ticket, metadata=_CONNECTOR, retry_policy=_CONNECTOR_RETRY
    )
    graph.add_node("request_approval", nodes_act.request_approval, metadata={"kind": "human"})
    graph.add_node(
        "perform_actions",
        nodes_act.perform_actions,
        metadata=_CONNECTOR,
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node(
        "note_ticket", nodes_act.note_ticket, metadata=_CONNECTOR, retry_policy=_CONNECTOR_RETRY
    )
    graph.add_node("generate_reply", nodes_reply.generate_reply, metadata={"kind": "model"})
    graph.add_node(
        "send_reply", nodes_reply.send_reply, metadata=_CONNECTOR, retry_policy=_CONNECTOR_RETRY
    )
    graph.add_node(
        "post_reply", nodes_reply.post_reply, metadata=_CONNECTOR, retry_policy=_CONNECTOR_RETRY
    )
    graph.add_node(
        "set_ticket_status",
        nodes_reply.set_ticket_status,
        metadata=_CONNECTOR,
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node("await_customer", threads.await_customer, metadata={"kind": "human"})
    graph.add_node(
        "schedule_follow_up",
        nodes_reply.schedule_follow_up,
        metadata=_CONNECTOR,
        retry_policy=_CONNECTOR_RETRY,
    )

    graph.add_edge(START, "read_message")
    graph.add_conditional_edges("read_message", route_after_read)
    graph.add_edge("find_thread", "classify_intent")
    graph.add_edge("classify_intent", "extract_entities")
    graph.add_edge("extract_entities", "identify_customer")
    graph.add_conditional_edges("identify_customer", route_after_identify)
    graph.add_edge("review_account", "decide")
    graph.add_edge("decide", "open_ticket")
    graph.add_conditional_edges("open_ticket", route_after_ticket)
    graph.add_conditional_edges("request_approval", route_after_approval)
    graph.add_edge("perform_actions", "note_ticket")
    graph.add_conditional_edges("note_ticket", route_after_note)
    graph.add_conditional_edges("generate_reply", route_after_reply)
    graph.add_edge("send_reply", "post_reply")
    graph.add_edge("post_reply", "set_ticket_status")
    graph.add_conditional_edges("set_ticket_status", route_after_status)
    graph.add_conditional_edges("await_customer", route_after_await)
    graph.add_edge("schedule_follow_up", END)
    return graph
