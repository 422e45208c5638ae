"""The sales-operations graph: the only place that adds nodes and edges.

collect_data -> check_quality -> analyse_pipeline -> identify_insights -> write_report
  -> (complete data) draft_messages -> update_crm -> notify -> save_watermark
  -> (partial data)  skip_actions -> notify -> save_watermark
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from bpa.runs.context import RunContext
from connectors.errors import Transient
from flows.sales_operations import nodes
from flows.sales_operations.state import SalesOpsInput, SalesOpsState

__all__ = ["build_graph"]

#: CRM writes: a timeout is retried; the task keys make a repeated call harmless.
_CONNECTOR_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.2, retry_on=Transient)


def route_after_report(state: SalesOpsState) -> Literal["draft_messages", "skip_actions"]:
    return "skip_actions" if state.get("partial") else "draft_messages"


def build_graph() -> StateGraph[SalesOpsState, RunContext, SalesOpsInput, SalesOpsState]:
    graph = StateGraph(SalesOpsState, context_schema=RunContext, input_schema=SalesOpsInput)
    # collect_data retries each page itself (collect.py) and then reports how far it got,
    # so a node-level retry, which would start the collection over, is not wanted.
    graph.add_node("collect_data", nodes.collect_data, metadata={"kind": "connector"})
    graph.add_node("check_quality", nodes.check_quality, metadata={"kind": "decision"})
    graph.add_node("analyse_pipeline", nodes.analyse_pipeline, metadata={"kind": "decision"})
    graph.add_node("identify_insights", nodes.identify_insights, metadata={"kind": "model"})
    graph.add_node("write_report", nodes.write_report, metadata={"kind": "report"})
    graph.add_node("draft_messages", nodes.draft_messages, metadata={"kind": "model"})
    graph.add_node(
        "update_crm",
        nodes.update_crm,
        metadata={"kind": "connector"},
        retry_policy=_CONNECTOR_RETRY,
    )
    graph.add_node("skip_actions", nodes.skip_actions, metadata={"kind": "decision"})
    graph.add_node("notify", nodes.notify, metadata={"kind": "notify"})
    graph.add_node("save_watermark", nodes.save_watermark, metadata={"kind": "memory"})

    graph.add_edge(START, "collect_data")
    graph.add_edge("collect_data", "check_quality")
    graph.add_edge("check_quality", "analyse_pipeline")
    graph.add_edge("analyse_pipeline", "identify_insights")
    graph.add_edge("identify_insights", "write_report")
    graph.add_conditional_edges("write_report", route_after_report)
    graph.add_edge("draft_messages", "update_crm")
    graph.add_edge("update_crm", "notify")
    graph.add_edge("skip_actions", "notify")
    graph.add_edge("notify", "save_watermark")
    graph.add_edge("save_watermark", END)
    return graph
