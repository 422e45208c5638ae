"""The sales-operations flow's nodes. Each returns a partial state update.

The CRM records never enter the state: `collect_data` writes them to the snapshot table and
the later nodes read them from there (data.py), so checkpoints stay small at any data size.
The steps that read every deal reuse their last result when nothing they read changed
(reuse.py), so a review with nothing new in the CRM costs a fraction of a full one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from bpa.errors import FlowError
from bpa.runs.context import RunContext
from flows.sales_operations import followups
from flows.sales_operations.analysis import analyse
from flows.sales_operations.collect import WATERMARK_KEY, Collection, collect, namespace
from flows.sales_operations.data import Dataset
from flows.sales_operations.drafts import draft_variables, save_draft, split_subject
from flows.sales_operations.insights import build_items, ranking_method
from flows.sales_operations.quality import check_quality as find_problems
from flows.sales_operations.report import append_actions, render_report, report_dir
from flows.sales_operations.reuse import CONNECTOR, charts, release, reused_or
from flows.sales_operations.scoring import shortlists
from flows.sales_operations.snapshot import ENTITIES, open_snapshot
from flows.sales_operations.state import SalesOpsState
from flows.sales_operations.tasks import DRAFT_EMAIL, INSIGHTS

Ctx = Runtime[RunContext]

#: Deals shown per list in the report (drafts and tasks go to the first `top_n`).
REPORT_ITEMS = 10


def _as_of(state: SalesOpsState) -> dt.date:
    value: Any = state.get("as_of")
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value) if value else dt.datetime.now(dt.UTC).date()


def _bulk_change(found: Collection, before: dict[str, int]) -> bool:
    """Whether most deals changed since the last run (an import, a mass update)."""
    held = before.get("opportunities", 0)
    return held > 0 and found.changed.get("opportunities", 0) * 2 >= held


async def collect_data(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """Reads the input and the saved watermark; collects what changed in the CRM since then
    into the snapshot. Writes the resolved input, `collection` and `partial`.

    Fails the run (nothing changed anywhere) when the CRM is empty, or when it gives up
    before a first complete collection exists to fall back on.
    """
    ctx, store = runtime.context, runtime.store
    release(ctx)  # a retried or resumed run reads the snapshot afresh
    saved = await store.aget(namespace(CONNECTOR), WATERMARK_KEY) if store is not None else None
    with open_snapshot(ctx.settings, CONNECTOR) as snapshot:
        before = snapshot.counts()
        # The snapshot must still hold what the watermark's run saw (someone may have reset
        # the database but not the memory store); if not, collect everything.
        last = saved.value if saved is not None else None
        trusted = last is not None and all(
            before[e] >= last.get("held", {}).get(e, 0) for e in ENTITIES
        )
        since = last["entities"] if last and trusted and not state.get("full_refresh") else None
        settled = last.get("settled") if since and last else None
        crm = ctx.connectors.get(CONNECTOR)
        found = await collect(crm, snapshot, since=since, seen=ctx.run_id, settled=settled)
        if since and found.problem is None and _bulk_change(found, before):
            # An import or mass edit touched most deals: records it replaced would linger in
            # the snapshot (an incremental read never sees deletions), so read it all again.
            found = await collect(crm, snapshot, since=None, seen=ctx.run_id)
            found.mode = "full (most deals changed since the last run)"
        held = snapshot.counts()
        revision = snapshot.revision()
    collection = {
        **found.as_dict(), "held": held, "memory": store is not None, "revision": revision,
    }  # fmt: skip
    if found.problem is not None and not trusted:
        raise FlowError(
            "crm_unavailable",
            f"{found.problem['message']}. No earlier complete collection exists to fall back "
            "on, so no report was written and nothing in the CRM was changed; run the review "
            "again when the CRM answers",
            crm_error=found.problem["code"],
            entity=found.problem["entity"],
            pages_read=found.problem["pages_read"],
        )
    if held["opportunities"] == 0:
        raise FlowError(
            "crm_empty",
            "the CRM returned no opportunities, so there is no pipeline to review; check the "
            "crm connector's configuration (BPA_CONNECTORS) or load data "
            "(`bpa crm import-sales <folder>`)",
            held=held,
        )
    return {
        "as_of": _as_of(state).isoformat(),
        "stalled_days": state.get("stalled_days", 30),
        "top_n": state.get("top_n", 5),
        "collection": collection,
        "partial": found.problem is not None,
    }


async def check_quality(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """Reads the snapshot (or the kept result); writes `data_quality` (problems flagged, no
    record dropped)."""
    as_of = _as_of(state)

    async def compute(data: Dataset) -> dict[str, Any]:
        return {"data_quality": find_problems(data, as_of=as_of)}

    return await reused_or(state, runtime, "check_quality", {"as_of": as_of}, compute)


async def analyse_pipeline(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """Reads the snapshot (or the kept result); writes `numbers` (analysis.py: every number
    of the report)."""
    as_of, days = _as_of(state), state["stalled_days"]

    async def compute(data: Dataset) -> dict[str, Any]:
        return {"numbers": analyse(data, as_of=as_of, stalled_days=days)}

    params = {"as_of": as_of, "stalled_days": days}
    return await reused_or(state, runtime, "analyse_pipeline", params, compute)


async def identify_insights(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """Shortlists open deals by the offline scoring model and has the model rank them (or
    reuses the kept ranking of the same data, parameters and model).

    Writes `opportunities` and `risks` (best first, each with its evidence from the data
    and the reason it is listed) and `ranking` (which model ranked, how).
    """
    backend = runtime.context.models.backend
    as_of, days = _as_of(state), state["stalled_days"]
    size = max(REPORT_ITEMS, 2 * state.get("top_n", 5))
    params = {"as_of": as_of, "stalled_days": days, "size": size}
    params |= {"backend": backend.name, "model": backend.model}

    async def compute(data: Dataset) -> dict[str, Any]:
        return await _rank(runtime, data, as_of, days, size)

    return await reused_or(state, runtime, "identify_insights", params, compute)


async def _rank(
    runtime: Ctx, data: Dataset, as_of: dt.date, days: int, size: int
) -> dict[str, Any]:
    ctx = runtime.context
    found = shortlists(data, as_of=as_of, stalled_days=days, size=size)
    document = {
        "as_of": as_of.isoformat(),
        "stalled_days": days,
        "opportunities": [c.as_dict() for c, _ in found.opportunity],
        "risks": [c.as_dict() for c, _ in found.risk],
    }
    result = await ctx.models.extract(
        INSIGHTS, text=json.dumps(document), as_of=as_of.isoformat(), stalled_days=days
    )
    opportunities, fell_back_o = build_items(
        data, found.opportunity, result.value.opportunities, "opportunity"
    )
    risks, fell_back_r = build_items(data, found.risk, result.value.risks, "risk")
    backend = ctx.models.backend
    return {
        "opportunities": opportunities,
        "risks": risks,
        "ranking": {
            "backend": backend.name,
            "model": backend.model,
            "method": ranking_method(backend.name, backend.model),
            "confidence": result.confidence,
            "open_deals": found.open_deals,
            "fell_back": fell_back_o or fell_back_r,
        },
    }


async def write_report(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """Renders report.html (with charts) and summary.md under `home/reports/<run id>/`."""
    ctx = runtime.context
    folder = report_dir(ctx.settings.home, ctx.run_id)
    context = {
        "run_id": ctx.run_id,
        "numbers": state["numbers"],
        "data_quality": state["data_quality"],
        "opportunities": state["opportunities"][:REPORT_ITEMS],
        "risks": state["risks"][:REPORT_ITEMS],
        "ranking": state["ranking"],
        "collection": state["collection"],
        "partial": state.get("partial", False),
        "report_url": (folder / "report.html").resolve().as_uri(),
        "reused": state.get("reused", {}),
    }
    return {
        "report": render_report(
            folder, context, charts(ctx, state["numbers"], redraw=bool(state.get("full_refresh")))
        )
    }


async def draft_messages(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """Has the model write a follow-up e-mail for each of the top opportunities.

    Writes `drafts` (kept in the state; saved as files by `notify`; never sent).
    """
    ctx = runtime.context
    drafts = []
    for item in state["opportunities"][: state.get("top_n", 5)]:
        variables = draft_variables(item)
        text = (await ctx.models.generate(DRAFT_EMAIL, **variables)).text
        subject, body = split_subject(text, f"{item['product']}: next steps")
        contact = item.get("contact") or {}
        drafts.append(
            {
                "opportunity_id": item["opportunity_id"],
                "from": variables["agent"],
                "to": f"{contact['name']} <{contact['email']}>" if contact.get("email") else None,
                "subject": subject,
                "body": body,
                "status": "draft",
            }
        )
    return {"drafts": drafts}


async def update_crm(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """Creates a next-step task on each top opportunity and risk, at most one per deal per
    week (followups.py). Writes `tasks`: created, or found from an earlier run."""
    crm = runtime.context.connectors.get(CONNECTOR)
    top = state.get("top_n", 5)
    targets: dict[str, dict[str, Any]] = {}
    for item in [*state["opportunities"][:top], *state["risks"][:top]]:
        targets.setdefault(item["opportunity_id"], item)
    as_of = _as_of(state)
    return {
        "tasks": [await followups.create_followup(crm, item, as_of) for item in targets.values()]
    }


async def skip_actions(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """On partial data: no drafts and no CRM changes, and the report says why."""
    return {
        "drafts": [],
        "tasks": [],
        "skipped": [
            "e-mail drafts and CRM tasks: the collection was incomplete, and acting "
            "on partial data could chase deals that have already moved"
        ],
    }


async def notify(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """Saves the drafts beside the report and adds what was done to the summary; the run's
    output then carries the report's path and link."""
    ctx = runtime.context
    release(ctx)
    report = state["report"]
    folder = report_dir(ctx.settings.home, ctx.run_id) / "drafts"
    drafts = [
        {**d, "path": str(save_draft(folder, d, ctx.run_id))} for d in state.get("drafts", [])
    ]
    append_actions(
        Path(report["markdown"]),
        {"drafts": drafts, "tasks": state.get("tasks", []), "skipped": state.get("skipped", [])},
    )
    return {"drafts": drafts}


async def save_watermark(state: SalesOpsState, runtime: Ctx) -> dict[str, Any]:
    """Remembers how far this run collected, for the next run's incremental collection —
    only now, when everything succeeded, and only when the collection was complete."""
    store, collection = runtime.store, state["collection"]
    if store is None or state.get("partial"):
        return {"collection": {**collection, "watermark_saved": False}}
    await store.aput(
        namespace(CONNECTOR),
        WATERMARK_KEY,
        {
            "entities": collection["next_watermark"],
            "settled": collection["settled"],
            "held": collection["held"],
            "run_id": runtime.context.run_id,
            "as_of": state["as_of"],
            "saved_at": dt.datetime.now(dt.UTC).isoformat(),
        },
    )
    return {"collection": {**collection, "watermark_saved": True}}
