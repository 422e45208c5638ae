"""What the console shows of a run: a one-line label, the audit trail as a timeline, the path
through the graph, and the fields a reviewer edits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from api.ui._graph import END, START, Where
from bpa.runs.tables import Run, RunEvent, RunStatus

__all__ = [
    "Path",
    "ReviewField",
    "Step",
    "label_of",
    "path_of",
    "review_fields",
    "shown_values",
    "timeline",
]


def label_of(run: Run) -> str:
    """What the run is about, in a few words: the document, the sender, the invoice."""
    data, output = run.input or {}, run.output or {}
    parts: list[str] = []
    document = data.get("document")
    if isinstance(document, dict) and document.get("filename"):
        parts.append(str(document["filename"]))
    elif data.get("subject"):
        parts.append(str(data["subject"]))
    elif data.get("source"):
        parts.append(str(data["source"]))
    elif isinstance(data.get("sender"), dict) and data["sender"].get("email"):
        parts.append(str(data["sender"]["email"]))
    elif data.get("as_of"):
        parts.append(f"as of {data['as_of']}")
    if output.get("vendor_name") or output.get("invoice_number"):
        parts.append(" ".join(str(output.get(k) or "") for k in ("vendor_name", "invoice_number")))
    text = " · ".join(p.strip() for p in parts if p.strip())
    if not text and isinstance(data.get("text"), str):
        text = " ".join(data["text"].split())[:60]
    return text[:120] or run.id


@dataclass(frozen=True)
class Step:
    """One line of the timeline."""

    id: int
    at: dt.datetime
    kind: str
    node: str | None
    summary: str
    tone: str
    duration_ms: float | None
    detail: dict[str, Any] = field(default_factory=dict)


def _summary(event: RunEvent) -> tuple[str, str]:
    p = event.payload or {}
    kind = event.kind
    if kind == "connector_call" or kind == "connector_intent":
        what = f"{p.get('connector')}.{p.get('action')}"
        if kind == "connector_intent":
            return f"about to call {what}", "muted"
        if p.get("ok") is False:
            return f"{what} refused: {p.get('error') or p.get('code') or ''}".strip(), "bad"
        return f"{what}{' (changes data)' if p.get('side_effect') else ''}", "connector"
    if kind == "model_call":
        template = f", template {p['template']}" if p.get("template") else ""
        return f"model {p.get('task')} {p.get('name')} ({p.get('backend')}{template})", "model"
    if kind == "waiting":
        question = p.get("question") or {}
        return f"waiting for a human: {question.get('title', '')}", "waiting"
    if kind == "decision_recorded":
        who = p.get("decided_by") or "someone"
        comment = f": “{p['comment']}”" if p.get("comment") else ""
        fixed = p.get("corrections") or {}
        changed = {k: v for k, v in fixed.items() if v is not None}
        corrected = f" ({', '.join(f'{k}={v}' for k, v in changed.items())})" if changed else ""
        return f"{who} chose {p.get('action')}{corrected}{comment}", "human"
    if kind == "run_finished":
        status = p.get("status")
        error = p.get("error") or {}
        reason = f": {error.get('code')}" if error.get("code") else ""
        reason = f": {p['reason']}" if p.get("reason") else reason
        return f"run {status}{reason}", "good" if status == "succeeded" else "bad"
    if kind == "node_failed":
        return f"{event.node} failed: {p.get('error', '')}", "bad"
    if kind in ("node_started", "node_finished"):
        verb = "started" if kind == "node_started" else "finished"
        return f"{event.node} {verb}", "muted" if kind == "node_started" else "node"
    if kind == "interrupted":
        return f"{event.node} asked a question", "waiting"
    return kind.replace("_", " "), "muted"


def timeline(events: Sequence[RunEvent]) -> list[Step]:
    """Every event, less the `node_started` lines a `node_finished` (or failure, or question)
    of the same node follows: the finished line says the same with its duration."""
    ended: set[str | None] = set()  # nodes whose end comes later (walking backwards)
    kept: list[RunEvent] = []
    for event in reversed(events):
        if event.kind != "node_started":
            if event.node and event.kind in ("node_finished", "node_failed", "interrupted"):
                ended.add(event.node)
        elif event.node in ended:
            ended.discard(event.node)
            continue
        kept.append(event)
    steps = []
    for event in reversed(kept):
        summary, tone = _summary(event)
        steps.append(
            Step(
                id=event.id or 0,
                at=event.created_at,
                kind=event.kind,
                node=event.node,
                summary=summary,
                tone=tone,
                duration_ms=event.duration_ms,
                detail=dict(event.payload or {}),
            )
        )
    return steps


@dataclass(frozen=True)
class Path:
    nodes: list[str]
    current: str | None
    where: Where


def path_of(run: Run, events: Sequence[RunEvent]) -> Path:
    """The nodes the run entered, in order, and where it is now."""
    nodes = [START]
    open_nodes: list[str] = []
    failed: str | None = None
    for event in events:
        if event.kind == "node_started" and event.node:
            nodes.append(event.node)
            open_nodes.append(event.node)
        elif event.kind in ("node_finished", "interrupted") and event.node in open_nodes:
            open_nodes.remove(event.node)
        elif event.kind == "node_failed" and event.node:
            failed = event.node
    status = RunStatus(run.status)
    if status == RunStatus.waiting:
        asked = [e.node for e in events if e.kind == "waiting" and e.node]
        return Path(nodes, asked[-1] if asked else nodes[-1], "waiting")
    if status == RunStatus.succeeded:
        return Path([*nodes, END], END, "done")
    if status == RunStatus.failed:
        return Path(nodes, failed or nodes[-1], "failed")
    if status == RunStatus.running and open_nodes:
        return Path(nodes, open_nodes[-1], "running")
    return Path(nodes, None, "done")


@dataclass(frozen=True)
class ReviewField:
    name: str
    value: str
    confidence: float | None
    issues: list[str]


def field_confidence(events: Sequence[RunEvent]) -> dict[str, float]:
    """The latest per-field confidence a node reported (`update.field_confidence`)."""
    found: dict[str, float] = {}
    for event in events:
        update = (event.payload or {}).get("update")
        if event.kind == "node_finished" and isinstance(update, dict):
            scores = update.get("field_confidence")
            if isinstance(scores, dict):
                found = {str(k): float(v) for k, v in scores.items() if v is not None}
    return found


def shown_values(question: dict[str, Any]) -> dict[str, str]:
    """What the review form shows in each editable field: the extracted value, or for the
    vendor id, the vendor it was matched to. A `correct` answer sends the ones changed."""
    details = question.get("details") or {}
    values = dict(details.get("fields") or {})
    vendor = details.get("vendor")
    if values.get("vendor_id") is None and isinstance(vendor, dict):
        values["vendor_id"] = vendor.get("id")
    return {
        name: "" if values.get(name) is None else str(values[name])
        for name in question.get("editable_fields") or []
    }


def review_fields(question: dict[str, Any], events: Sequence[RunEvent]) -> list[ReviewField]:
    """The fields a `correct` answer may change, as shown, with confidence and issues."""
    details = question.get("details") or {}
    values = shown_values(question)
    scores = field_confidence(events)
    issues: dict[str, list[str]] = {}
    for issue in details.get("issues") or []:
        if isinstance(issue, dict) and issue.get("field"):
            issues.setdefault(str(issue["field"]), []).append(str(issue.get("message", "")))
    return [
        ReviewField(
            name=name,
            value=values[name],
            confidence=scores.get(name),
            issues=issues.get(name, []),
        )
        for name in question.get("editable_fields") or []
    ]
