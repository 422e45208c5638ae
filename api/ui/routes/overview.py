"""The overview: runs per flow and outcome over the last two weeks, the automation rate, what
waits for a human and for how long, and the connectors' health."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import ServicesDep
from api.services import Services
from api.ui import _queries
from api.ui._access import ViewerDep
from api.ui._charts import hbars, stacked_columns
from api.ui._console import console_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_DAYS = 14
_HEALTH_TIMEOUT_S = 3.0
#: Outcomes in the order the columns stack them: queued and running count as in progress,
#: any other status (a rolled-back run) as other.
_OUTCOMES = ("succeeded", "waiting", "failed", "cancelled", "in_progress", "other")
_IN_PROGRESS = ("queued", "running")
_AGES = (
    ("< 1 h", dt.timedelta(hours=1)),
    ("1–4 h", dt.timedelta(hours=4)),
    ("4–24 h", dt.timedelta(days=1)),
    ("1–3 d", dt.timedelta(days=3)),
    ("> 3 d", dt.timedelta.max),
)


def _numbers(services: Services) -> dict[str, Any]:
    engine = services.suite.engine
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=n) for n in range(_DAYS - 1, -1, -1)]
    since = dt.datetime.combine(days[0], dt.time(), tzinfo=dt.UTC)
    per_flow: dict[str, dict[str, list[int]]] = {}
    for count in _queries.day_counts(engine, since):
        if count.day not in days:
            continue
        outcome = "in_progress" if count.status in _IN_PROGRESS else count.status
        outcome = outcome if outcome in _OUTCOMES else "other"
        series = per_flow.setdefault(count.flow, {o: [0] * len(days) for o in _OUTCOMES})
        series[outcome][days.index(count.day)] += count.runs
    labels = [d.strftime("%d %b") for d in days]
    charts = [
        (flow, sum(map(sum, series.values())), stacked_columns(labels, series, title=flow))
        for flow, series in sorted(per_flow.items())
    ]
    finished, alone = _queries.automated(engine, since)
    waiting = _queries.inbox(engine, limit=10_000)
    now = dt.datetime.now(dt.UTC)
    ages = dict.fromkeys((label for label, _ in _AGES), 0)
    for approval, _run in waiting:
        asked = approval.created_at
        waited = now - (asked.replace(tzinfo=dt.UTC) if asked.tzinfo is None else asked)
        label = next(label for label, limit in _AGES if waited < limit)
        ages[label] += 1
    return {
        "charts": charts,
        "finished": finished,
        "automated": alone,
        "rate": round(100 * alone / finished) if finished else None,
        "waiting": len(waiting),
        "oldest": waiting[0][0].created_at if waiting else None,
        "ages": hbars(ages, title="How long questions have waited", series="waiting"),
        "days": _DAYS,
        "outcomes": _OUTCOMES,
    }


async def _health(services: Services) -> list[dict[str, Any]]:
    suite = services.suite

    async def check(name: str) -> dict[str, Any]:
        try:
            details = await asyncio.wait_for(suite.connectors[name].health(), _HEALTH_TIMEOUT_S)
        except TimeoutError:
            return {"name": name, "ok": False, "problem": f"no answer in {_HEALTH_TIMEOUT_S:g} s"}
        except Exception as exc:  # a failing check is what we show, not an error page
            return {"name": name, "ok": False, "problem": suite.redactor.error(exc)}
        return {"name": name, "ok": True, "details": dict(details), "problem": None}

    found = list(await asyncio.gather(*(check(name) for name in sorted(suite.connectors))))
    for name, problem in sorted(suite.connector_problems.items()):
        if name not in suite.connectors:
            found.append({"name": name, "ok": False, "problem": suite.redactor.text(problem)})
    return found


@router.get("")
async def overview_page(request: Request, visitor: ViewerDep, services: ServicesDep) -> Response:
    numbers, health = await asyncio.gather(run_in_threadpool(_numbers, services), _health(services))
    return console_of(request).pages.render(
        request, visitor, "overview.html", health=health, **numbers
    )
