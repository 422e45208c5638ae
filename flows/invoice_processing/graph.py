"""The invoice-processing graph: the only place that adds nodes and edges."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from bpa.runs.context import RunContext
from connectors.errors import Transient
from flows.invoice_processing import nodes, vendors
from flows.invoice_processing.state import InvoiceInput, InvoiceState

__all__ = ["build_graph"]

_CONNECTOR_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.2, retry_on=Transient)


def route_after_extract(
    state: InvoiceState,
) -> Literal["apply_vendor_memory", "reject_document"]:
    return "apply_vendor_memory" if nodes.looks_like_invoice(state) else "reject_document"


def route_after_create(state: InvoiceState) -> Literal["post_bill", "open_review"]:
    return "open_review" if state.get("issues") or not state.get("bill") else "post_bill"


def route_after_validate(
    state: InvoiceState,
) -> Literal["create_bill", "open_review", "post_bill"]:
    if any(i["blocking"] for i in state.get("issues", [])):
        return "open_review"
    if state.get("bill"):  # booked before this run's process died: not booked again
        return route_after_create(state)
    return "create_bill"


def route_after_review(
    state: InvoiceState,
) -> Literal["post_bill", "void_bill", "apply_corrections", "__end__"]:
    action = (state.get("review") or {}).get("action")
    has_bill = bool(state.get("bill")) and state["bill"].get("status") != "void"  # type: ignore[union-attr]
    if action == "approve":
        return "post_bill"
    if has_bill:
        return "void_bill"
    return "apply_corrections" if action == "correct" else "__end__"


def route_after_void(state: InvoiceState) -> Literal["apply_corrections", "__end__"]:
    return (
        "apply_corrections" if (state.get("review") or {}).get("action") == "correct" else "__end__"
    )


def route_after_corrections(
    state: InvoiceState,
) -> Literal["create_vendor", "validate_invoice"]:
    corrections = (state.get("review") or {}).get("corrections") or {}
    if corrections.get("create_vendor") and not corrections.get("vendor_id"):
        return "create_vendor"
    return "validate_invoice"


def build_graph() -> StateGraph[InvoiceState, RunContext, InvoiceInput, InvoiceState]:
    graph = StateGraph(InvoiceState, context_schema=RunContext, input_schema=InvoiceInput)
    graph.add_node("read_input", nodes.read_input, metadata={"kind": "parse"})
    graph.add_node("classify_document", nodes.classify_document, metadata={"kind": "model"})
    graph.add_node("reject_document", nodes.reject_document, metadata={"kind": "decision"})
    graph.add_node("extract_fields", nodes.extract_fields, metadata={"kind": "model"})
    graph.add_node(
        "apply_vendor_memory",
        vendors.apply_vendor_memory,
        metadata={"kind": "decision"},
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node(
        "create_vendor",
        vendors.create_vendor,
        metadata={"kind": "connector"},
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node(
        "validate_invoice",
        nodes.validate_invoice,
        metadata={"kind": "decision"},
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node(
        "create_bill",
        nodes.create_bill,
        metadata={"kind": "connector"},
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node("open_review", nodes.open_review, metadata={"kind": "decision"})
    graph.add_node("request_review", nodes.request_review, metadata={"kind": "human"})
    graph.add_node("apply_corrections", nodes.apply_corrections, metadata={"kind": "decision"})
    graph.add_node(
        "void_bill",
        nodes.void_bill,
        metadata={"kind": "connector"},
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node(
        "post_bill",
        nodes.post_bill,
        metadata={"kind": "connector"},
        retry_policy=_CONNECTOR_RETRY,
    )

    graph.add_edge(START, "read_input")
    graph.add_edge("read_input", "classify_document")
    graph.add_edge("classify_document", "extract_fields")
    graph.add_conditional_edges("extract_fields", route_after_extract)
    graph.add_conditional_edges("validate_invoice", route_after_validate)
    graph.add_conditional_edges("create_bill", route_after_create)
    graph.add_edge("open_review", "request_review")
    graph.add_conditional_edges("request_review", route_after_review)
    graph.add_conditional_edges("void_bill", route_after_void)
    graph.add_edge("apply_vendor_memory", "validate_invoice")
    graph.add_conditional_edges("apply_corrections", route_after_corrections)
    graph.add_conditional_edges("create_vendor", vendors.route_after_create_vendor)
    graph.add_edge("post_bill", END)
    graph.add_edge("reject_document", END)
    return graph
