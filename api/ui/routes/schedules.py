"""Schedules: the list with next fire times, creating one (with a readable preview of its cron
expression), pausing, resuming, deleting, and a schedule's firings.

Validation is the API's (`check_schedule`, `ScheduleStore`): what the console refuses, the
API refuses with the same words. Plain `def` routes: the schedule store is synchronous.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from cron_descriptor import Options, get_description
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.deps import ServicesDep
from api.services import Services
from api.ui._access import AdminDep, ConsoleError, FormDep, ViewerDep, Visitor
from api.ui._console import console_of
from api.ui._render import redirect
from bpa.schedules import (
    MisfirePolicy,
    OverlapPolicy,
    Schedule,
    ScheduleError,
    check_schedule,
    next_fire_time,
    parse_spec,
)

__all__ = ["describe_cron", "router"]

router = APIRouter(include_in_schema=False)

ScheduleId = Annotated[str, Path(max_length=100)]
_FORM_DEFAULTS = {
    "name": "",
    "flow": "",
    "cron": "0 7 * * MON",
    "timezone": "UTC",
    "input": "{}",
    "overlap": OverlapPolicy.skip.value,
    "misfire": MisfirePolicy.run_once.value,
}


def describe_cron(cron: str, timezone: str, *, count: int = 3) -> dict[str, Any]:
    """`description` and the next `count` fire times, or `error` saying what to fix."""
    try:
        spec = parse_spec(flow="preview", cron=cron, timezone=timezone or "UTC")
    except ScheduleError as exc:
        return {"error": str(exc), "description": None, "times": []}
    options = Options()
    options.use_24hour_time_format = True
    try:
        description = get_description(spec.cron, options)
    except Exception:  # the library cannot word every valid expression; croniter accepted it
        description = spec.cron
    zone = ZoneInfo(spec.timezone)
    times, after = [], dt.datetime.now(dt.UTC)
    for _ in range(count):
        after = next_fire_time(spec.cron, spec.timezone, after)
        times.append(after.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z"))
    return {"error": None, "description": f"{description} ({spec.timezone})", "times": times}


def _page(
    request: Request,
    visitor: Visitor,
    services: Services,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    schedules = services.suite.schedules.list()
    values = form or dict(_FORM_DEFAULTS)
    return console_of(request).pages.render(
        request,
        visitor,
        "schedules.html",
        status=status,
        schedules=[(s, describe_cron(s.cron, s.timezone, count=0)) for s in schedules],
        form=values,
        preview=describe_cron(values["cron"], values["timezone"]),
        error=error,
        flows=sorted(services.suite.flows),
        overlaps=[p.value for p in OverlapPolicy],
        misfires=[p.value for p in MisfirePolicy],
    )


@router.get("/schedules")
def schedules_page(request: Request, visitor: ViewerDep, services: ServicesDep) -> Response:
    return _page(request, visitor, services)


@router.get("/schedules/preview")
def cron_preview(
    request: Request,
    visitor: ViewerDep,
    cron: Annotated[str, Query(max_length=200)] = "",
    timezone: Annotated[str, Query(max_length=100)] = "UTC",
) -> Response:
    return console_of(request).pages.render(
        request, visitor, "cron_preview.html", preview=describe_cron(cron, timezone)
    )


@router.post("/schedules")
def create_schedule(
    request: Request, form: FormDep, visitor: AdminDep, services: ServicesDep
) -> Response:
    values = {k: str(form.get(k) or default) for k, default in _FORM_DEFAULTS.items()}
    values["name"] = str(form.get("name") or "").strip()
    try:
        try:
            data = json.loads(values["input"] or "{}")
        except json.JSONDecodeError as exc:
            raise ScheduleError(f"the input is not valid JSON ({exc.msg})") from None
        check_schedule(services.suite.runner, values["flow"], data)
        schedule = services.suite.schedules.create(
            flow=values["flow"],
            cron=values["cron"],
            timezone=values["timezone"],
            input=data,
            overlap=values["overlap"],
            misfire=values["misfire"],
            name=values["name"] or None,
        )
    except ScheduleError as exc:
        return _page(request, visitor, services, form=values, error=str(exc), status=422)
    return redirect(request, visitor, f"/ui/schedules/{schedule.id}")


def _get(services: Services, schedule_id: str) -> Schedule:
    try:
        return services.suite.schedules.get(schedule_id)
    except LookupError:
        raise ConsoleError(
            404, f"no schedule with id {schedule_id!r}", title="No such schedule"
        ) from None


@router.get("/schedules/{schedule_id}")
def schedule_page(
    schedule_id: ScheduleId, request: Request, visitor: ViewerDep, services: ServicesDep
) -> Response:
    schedule = _get(services, schedule_id)
    return console_of(request).pages.render(
        request,
        visitor,
        "schedule.html",
        schedule=schedule,
        cron=describe_cron(schedule.cron, schedule.timezone),
        firings=services.suite.schedules.firings(schedule.id, limit=100),
        input=schedule.input,
    )


@router.post("/schedules/{schedule_id}/{change}")
def change_schedule(
    schedule_id: ScheduleId,
    change: Annotated[str, Path(pattern="^(pause|resume|delete)$")],
    request: Request,
    form: FormDep,
    visitor: AdminDep,
    services: ServicesDep,
) -> Response:
    store = services.suite.schedules
    _get(services, schedule_id)
    if change == "delete":
        store.delete(schedule_id)
        return redirect(request, visitor, "/ui/schedules")
    store.update(schedule_id, enabled=change == "resume")
    return redirect(request, visitor, f"/ui/schedules/{schedule_id}")
