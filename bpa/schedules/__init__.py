"""Schedules: a flow, a cron expression in a timezone, an input, and what to do when runs
overlap or firings were missed. Persisted, so they survive restarts.

Every firing is a row in `bpa_schedule_firings` with a UNIQUE (schedule_id, fire_time):
the process whose insert succeeds owns the firing, which is how a due schedule fires
exactly once when several schedulers share the database (the loop: bpa/scheduler.py).
"""

from bpa.schedules._spec import (
    ScheduleSpec,
    batch_items,
    check_schedule,
    next_fire_time,
    parse_spec,
)
from bpa.schedules._store import ScheduleStore
from bpa.schedules._tables import (
    FiringStatus,
    MisfirePolicy,
    OverlapPolicy,
    Schedule,
    ScheduleError,
    ScheduleFiring,
    ScheduleNameTaken,
    ScheduleNotFound,
    as_utc,
)

__all__ = [
    "FiringStatus",
    "MisfirePolicy",
    "OverlapPolicy",
    "Schedule",
    "ScheduleError",
    "ScheduleFiring",
    "ScheduleNameTaken",
    "ScheduleNotFound",
    "ScheduleSpec",
    "ScheduleStore",
    "as_utc",
    "batch_items",
    "check_schedule",
    "next_fire_time",
    "parse_spec",
]
