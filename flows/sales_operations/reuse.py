"""Loading the snapshot once per run, and reusing a step's result when its inputs are unchanged.

The steps that read every deal (`check_quality`, `analyse_pipeline`, `identify_insights`)
and the charts keep their last result in the snapshot's results table (snapshot.py) under
a fingerprint: a hash of the snapshot's content revision, the step's parameters (review
date, thresholds, model) and the flow's own code. A step whose fingerprint matches the kept
one returns that result without loading the data, and says so (`reused` in the state names
the run that computed it). A review with nothing changed in the CRM therefore costs the
collection's few requests, the report's templates and the CRM tasks' checks. A full
refresh recomputes everything (and keeps the new results).

A result is kept only under the revision the data was loaded at, checked before and after
loading: a collection by another run landing meanwhile leaves nothing kept for this one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from bpa.runs.context import RunContext
from flows.sales_operations.charts import render_charts
from flows.sales_operations.data import Dataset, load_dataset
from flows.sales_operations.snapshot import open_snapshot
from flows.sales_operations.state import SalesOpsState

__all__ = ["CONNECTOR", "charts", "dataset", "release", "reused_or"]

CONNECTOR = "crm"

#: The dataset of the run executing last in this process, so the three nodes that read the
#: snapshot load it once, and all see the same records even if another run collects meanwhile;
#: with the revision it was loaded at (None when a write landed while it loaded).
_loaded: dict[tuple[str, str], tuple[Dataset, str | None]] = {}


def dataset(ctx: RunContext) -> tuple[Dataset, str | None]:
    key = (ctx.settings.resolved_database_url(), ctx.run_id)
    found = _loaded.get(key)
    if found is None:
        with open_snapshot(ctx.settings, CONNECTOR) as snapshot:
            before = snapshot.revision()
            data = load_dataset(snapshot.rows)
            found = (data, before if snapshot.revision() == before else None)
        _loaded.clear()
        _loaded[key] = found
    return found


@cache
def _code_version() -> str:
    """A hash of the flow's code and templates: results kept by other code are not reused."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.j2")]):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _fingerprint(step: str, revision: str, params: dict[str, Any]) -> str:
    body = {"step": step, "revision": revision, "code": _code_version(), "params": params}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def reused_or(
    state: SalesOpsState,
    runtime: Runtime[RunContext],
    step: str,
    params: dict[str, Any],
    compute: Callable[[Dataset], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """The step's kept result when its inputs are unchanged, else `compute`'s (then kept)."""
    ctx = runtime.context
    revision = state.get("collection", {}).get("revision")
    if revision is not None and not state.get("full_refresh"):
        with open_snapshot(ctx.settings, CONNECTOR) as snapshot:
            kept = snapshot.result(step, _fingerprint(step, revision, params))
        if kept is not None:
            return {**kept[0], "reused": {step: kept[1]}}
    data, loaded_at = dataset(ctx)
    result = await compute(data)
    if loaded_at is not None:
        with open_snapshot(ctx.settings, CONNECTOR) as snapshot:
            fingerprint = _fingerprint(step, loaded_at, params)
            snapshot.keep(step, fingerprint, ctx.run_id, json.dumps(result))
    return result


def release(ctx: RunContext) -> None:
    _loaded.pop((ctx.settings.resolved_database_url(), ctx.run_id), None)


def charts(ctx: RunContext, numbers: dict[str, Any], *, redraw: bool) -> dict[str, str]:
    """The report's charts, drawn again only when the numbers changed or `redraw` (drawing
    them is most of the report's cost)."""
    fingerprint = _fingerprint("charts", "", {"numbers": numbers})
    with open_snapshot(ctx.settings, CONNECTOR) as snapshot:
        kept = None if redraw else snapshot.result("charts", fingerprint)
        if kept is not None:
            return kept[0]  # type: ignore[return-value]
        drawn = render_charts(numbers)
        snapshot.keep("charts", fingerprint, ctx.run_id, json.dumps(drawn))
    return drawn
