"""Validation of what people send as a schedule, and cron arithmetic."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from pydantic import BaseModel, ValidationError, field_validator

from bpa.explain import describe, explain_input
from bpa.schedules._tables import MisfirePolicy, OverlapPolicy, ScheduleError, as_utc

if TYPE_CHECKING:
    from bpa.runs.runner import Runner


#: A cron that names no date in this many years names none at all (29 February on a given
#: weekday recurs within 28 years).
_MAX_YEARS = 30
_EPOCH = dt.datetime(2000, 1, 1)


#: Each cron field's name and the values it takes.
_CRON_FIELDS = (
    ("minute", 0, 59, ""),
    ("hour", 0, 23, ""),
    ("day-of-month", 1, 31, ""),
    ("month", 1, 12, " or JAN-DEC"),
    ("weekday", 0, 7, " or SUN-SAT"),
)


def _bad_field(cron: str) -> str:
    """Which field of a five-field cron that croniter refuses is wrong, and why."""
    fields = cron.split()
    for n, (name, low, high, names) in enumerate(_CRON_FIELDS):
        alone = " ".join(field if i == n else "*" for i, field in enumerate(fields))
        if croniter.is_valid(alone):
            continue
        values = [
            int(number)
            for part in fields[n].split(",")
            for number in re.findall(r"\d+", part.split("/")[0])
        ]
        if any(not low <= v <= high for v in values):
            why = f"is out of range ({low}-{high}{names})"
        else:
            why = f"is not valid ({low}-{high}{names}, lists 1,2, ranges 1-5, steps */5)"
        return f"{cron!r}: the {name} field {fields[n]!r} {why}"
    return f"{cron!r} is not a valid cron expression (minute hour day month weekday)"


class ScheduleSpec(BaseModel):
    """Validates the fields people send; the store keeps only valid schedules."""

    name: str | None = None
    flow: str
    cron: str
    timezone: str = "UTC"
    input: dict[str, Any] = {}
    enabled: bool = True
    overlap: OverlapPolicy = OverlapPolicy.skip
    misfire: MisfirePolicy = MisfirePolicy.run_once

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value.split()) != 5:
            raise ValueError(
                f"{value!r} is not a five-field cron expression (minute hour day month weekday), "
                "e.g. '*/5 * * * *'"
            )
        if not croniter.is_valid(value):
            raise ValueError(_bad_field(value))
        try:
            croniter(value, _EPOCH, max_years_between_matches=_MAX_YEARS).get_next(dt.datetime)
        except CroniterError:
            raise ValueError(
                f"{value!r} never fires (no such date, e.g. 30 February); check the day and "
                "month fields"
            ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name like Europe/Berlin"
            ) from None
        return value

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, list):
            value = {"batch": value}
        if isinstance(value, dict) and "batch" in value:
            items = value["batch"]
            if (
                not isinstance(items, list)
                or not items
                or not all(isinstance(i, dict) for i in items)
            ):
                raise ValueError("`batch` must be a non-empty list of input objects")
        return value


def parse_spec(**fields: Any) -> ScheduleSpec:
    """Validate a schedule's fields; `ScheduleError` says what to fix."""
    try:
        return ScheduleSpec.model_validate(fields)
    except ValidationError as exc:
        raise ScheduleError(describe(exc)) from None


def next_fire_time(cron: str, timezone: str, after: dt.datetime) -> dt.datetime:
    """The first time strictly after `after` that `cron` names, read in `timezone`."""
    local = as_utc(after).astimezone(ZoneInfo(timezone))
    try:
        found = croniter(cron, local, max_years_between_matches=_MAX_YEARS).get_next(dt.datetime)
    except CroniterError:
        raise ScheduleError(f"{cron!r} never fires after {after.isoformat()}") from None
    return as_utc(found)


def batch_items(input: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The items of a batch schedule's input, or None for a single-run schedule."""
    items = input.get("batch")
    return items if isinstance(items, list) else None


def check_schedule(runner: Runner, flow: str, input: dict[str, Any] | list[Any] | None) -> None:
    """Refuse a schedule whose flow is not installed or whose input the flow would reject."""
    try:
        spec = runner.flow(flow)
    except LookupError as exc:
        raise ScheduleError(str(exc)) from None
    data = parse_spec(flow=flow, cron="* * * * *", input=input).input
    items = batch_items(data)
    for n, item in enumerate(items if items is not None else [data]):
        where = f"input.batch.{n}" if items is not None else ""
        try:
            spec.input_model.model_validate(item)
        except ValidationError as exc:
            what = f"the input for flow {flow!r}"
            raise ScheduleError(explain_input(exc, spec.input_model, what, prefix=where)) from None
        try:  # the runner's other rules (no NUL), so a firing never meets a refusal
            runner.prepare(spec.name, item)
        except ValueError as exc:
            raise ScheduleError(f"{where}: {exc}" if where else str(exc)) from None
