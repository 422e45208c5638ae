"""Schedules, for admins to change and anyone to read: cron, timezone, input, policies.

Plain `def` routes: the schedule store is synchronous. The scheduler process (`bpa
scheduler`) reads schedules from the database at each of its rounds, so a change made here
needs no message to it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import AdminDep, ServicesDep, ViewerDep
from api.problems import ApiProblem, problem_responses
from api.schemas import FiringPublic, ScheduleCreate, SchedulePublic, ScheduleUpdate
from bpa.schedules import (
    Schedule,
    ScheduleError,
    ScheduleNameTaken,
    ScheduleStore,
    check_schedule,
)

__all__ = ["router"]

router = APIRouter(prefix="/schedules", tags=["schedules"])

ScheduleId = Annotated[str, Path(max_length=100)]


def _store(services: ServicesDep) -> ScheduleStore:
    return services.suite.schedules


def _invalid(exc: ScheduleError) -> ApiProblem:
    if isinstance(exc, ScheduleNameTaken):  # the request is fine; the name is not free
        return ApiProblem(409, "schedule-name-taken", str(exc))
    return ApiProblem(422, "schedule-invalid", str(exc))


def _get(store: ScheduleStore, schedule_id: str) -> Schedule:
    try:
        return store.get(schedule_id)
    except LookupError:
        raise ApiProblem(
            404,
            "schedule-not-found",
            f"no schedule with id {schedule_id!r}; GET /schedules lists them",
        ) from None


@router.get(
    "",
    response_model=list[SchedulePublic],
    summary="Schedules",
    responses=problem_responses(401, 403, 404, 422),
)
def list_schedules(
    services: ServicesDep,
    _viewer: ViewerDep,
    flow: Annotated[str | None, Query(max_length=100)] = None,
    enabled: bool | None = None,
) -> list[SchedulePublic]:
    return [SchedulePublic.of(s) for s in _store(services).list(flow=flow, enabled=enabled)]


@router.post(
    "",
    response_model=SchedulePublic,
    status_code=201,
    summary="Create a schedule",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_schedule(
    body: ScheduleCreate, services: ServicesDep, response: Response, _admin: AdminDep
) -> SchedulePublic:
    """Fires `flow` with `input` at each time `cron` names in `timezone`; exactly once per
    time even with several servers on one database."""
    store = _store(services)
    try:
        check_schedule(services.suite.runner, body.flow, body.input)
        schedule = store.create(**body.model_dump(mode="json"))
    except ScheduleError as exc:
        raise _invalid(exc) from None
    response.headers["Location"] = f"/schedules/{schedule.id}"
    return SchedulePublic.of(schedule)


@router.get(
    "/{schedule_id}",
    response_model=SchedulePublic,
    summary="One schedule",
    responses=problem_responses(401, 403, 404, 422),
)
def get_schedule(
    schedule_id: ScheduleId, services: ServicesDep, _viewer: ViewerDep
) -> SchedulePublic:
    return SchedulePublic.of(_get(_store(services), schedule_id))


@router.patch(
    "/{schedule_id}",
    response_model=SchedulePublic,
    summary="Change a schedule",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_schedule(
    schedule_id: ScheduleId, body: ScheduleUpdate, services: ServicesDep, _admin: AdminDep
) -> SchedulePublic:
    """A new cron or timezone, or re-enabling, counts from now."""
    store = _store(services)
    current = _get(store, schedule_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    if "input" in changes:
        changes["input"] = changes["input"] or {}
    changes = {k: v for k, v in changes.items() if v is not None or k == "name"}
    try:
        if "input" in changes:
            check_schedule(services.suite.runner, current.flow, changes["input"])
        schedule = store.update(schedule_id, **changes)
    except ScheduleError as exc:
        raise _invalid(exc) from None
    return SchedulePublic.of(schedule)


@router.delete(
    "/{schedule_id}",
    status_code=204,
    summary="Delete a schedule",
    responses=problem_responses(401, 403, 404, 422),
)
def delete_schedule(schedule_id: ScheduleId, services: ServicesDep, _admin: AdminDep) -> Response:
    """Runs it started stay."""
    store = _store(services)
    _get(store, schedule_id)
    store.delete(schedule_id)
    return Response(status_code=204)


@router.get(
    "/{schedule_id}/firings",
    response_model=list[FiringPublic],
    summary="When a schedule fired and what it started",
    responses=problem_responses(401, 403, 404, 422),
)
def schedule_firings(
    schedule_id: ScheduleId,
    services: ServicesDep,
    _viewer: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[FiringPublic]:
    store = _store(services)
    _get(store, schedule_id)
    return [FiringPublic.of(f) for f in store.firings(schedule_id, limit=limit)]
