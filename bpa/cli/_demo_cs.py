"""`bpa demo`, customer-service part: the sample messages in fixtures/customer_service/messages.

`customer_service_demo(suite)` runs each message through the flow (a refund waiting for
approval is approved, as a supervisor would), and `cs_table(cases)` shows what happened:
intent, customer, decision, the CRM actions taken, ticket and follow-up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from bpa.suite import Suite

__all__ = ["CSDemoCase", "cs_table", "customer_service_demo"]

_FLOW = "customer_service"


@dataclass
class CSDemoCase:
    message: str
    run_id: str
    status: str
    output: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


async def customer_service_demo(suite: Suite, *, approve: bool = True) -> list[CSDemoCase]:
    """Runs every sample message once (the run key makes a re-run find the same runs)."""
    folder = suite.settings.fixtures_dir / "customer_service" / "messages"
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no sample customer messages in {folder}")
    flow = suite.runner.flow(_FLOW)
    cases = []
    for path in files:
        payload = flow.input_from_file(path, suite.documents)
        run = await suite.runner.start(_FLOW, payload, trigger="demo")
        notes = []
        question = suite.store.pending_approval(run.id) if run.status == "waiting" else None
        asked = question.question if question else {}
        if question is not None and "approve" not in asked.get("actions", ["approve"]):
            notes.append(  # e.g. for the customer's answer
                f"{asked.get('title')}; a reply with in_reply_to set to the message's id "
                "continues it (bpa run customer_service --input REPLY.json)"
            )
        elif run.status == "waiting" and approve:
            title = asked.get("title") or "approval"
            run = await suite.runner.resume(
                run.id,
                {"action": "approve", "comment": "demo: refund checked"},
                by="demo-supervisor",
            )
            notes.append(f"approved by demo-supervisor: {title}")
        else:  # decided by an earlier demo: say so, the same way
            notes += [
                f"approved by demo-supervisor, in an earlier demo: {a.question.get('title')}"
                for a in suite.store.approvals(run.id)
                if a.decided_by == "demo-supervisor"
            ]
        cases.append(
            CSDemoCase(
                message=Path(path).name,
                run_id=run.id,
                status=str(run.status),
                output=run.output or {},
                error=run.error,
                notes=notes,
            )
        )
    return cases


def _actions(output: dict[str, Any]) -> str:
    done = [
        f"{a['action']} {a.get('order_id') or ''}".strip() + ("" if a["ok"] else " (refused)")
        for a in output.get("actions") or []
    ]
    return ", ".join(done) or "-"


def cs_table(cases: list[CSDemoCase]) -> Table:
    table = Table(title="customer service", expand=False)
    for column in (
        "message",
        "status",
        "intent",
        "customer",
        "decision",
        "actions",
        "ticket",
        "follow-up",
    ):
        table.add_column(column, overflow="fold")
    colours = {"succeeded": "green", "failed": "red", "waiting": "yellow"}
    for case in cases:
        out = case.output
        decision = out.get("decision") or {}
        follow_up = out.get("follow_up") or {}
        table.add_row(
            case.message.removesuffix(".json"),
            f"[{colours.get(case.status, 'white')}]{case.status}[/]",
            str(out.get("intent") or ""),
            str(out.get("customer_id") or "unknown"),
            f"{decision.get('outcome', '')}: {decision.get('reason', '')}"
            if decision
            else json.dumps(case.error),
            _actions(out),
            f"{out.get('ticket_id') or ''} ({out.get('ticket_status') or ''})",
            str(follow_up.get("due_at", ""))[:10],
        )
    return table
