"""The sales-operations flow's output: where the report is, and what the run found and did."""

from __future__ import annotations

from typing import Any

__all__ = ["make_output"]

_COLLECTION = (
    "mode",
    "since",
    "read",
    "changed",
    "pages",
    "held",
    "removed",
    "memory",
    "watermark_saved",
)


def make_output(state: dict[str, Any]) -> dict[str, Any]:
    report = state.get("report") or {}
    tasks = list(state.get("tasks") or [])
    collection = state.get("collection") or {}
    return {
        "as_of": state.get("as_of"),
        "report_html": report.get("html"),
        "report_markdown": report.get("markdown"),
        "report_url": report.get("url"),
        "partial": bool(state.get("partial")),
        "problem": collection.get("problem"),
        "numbers": state.get("numbers"),
        "data_quality": list(state.get("data_quality") or []),
        "opportunities": list(state.get("opportunities") or []),
        "risks": list(state.get("risks") or []),
        "ranking": state.get("ranking"),
        "drafts": list(state.get("drafts") or []),
        "tasks": tasks,
        "tasks_created": sum(t["status"] == "created" for t in tasks),
        "skipped": list(state.get("skipped") or []),
        "reused": dict(state.get("reused") or {}),
        "collection": {k: collection.get(k) for k in _COLLECTION},
    }
