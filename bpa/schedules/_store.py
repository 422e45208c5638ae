"""Reads and writes of schedules and their firings."""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bpa.runs.tables import Run, RunStatus, new_id, utcnow
from bpa.schedules._spec import ScheduleSpec, next_fire_time, parse_spec
from bpa.schedules._tables import (
    FiringStatus,
    Schedule,
    ScheduleError,
    ScheduleFiring,
    ScheduleNameTaken,
    ScheduleNotFound,
)

# Aliases: inside ScheduleStore, `list` names its method.
Schedules = list[Schedule]
Firings = list[ScheduleFiring]

_UNFINISHED = (RunStatus.queued, RunStatus.running, RunStatus.waiting)


class ScheduleStore:
    """Reads and writes of schedules and their firings (sync, on the suite's engine)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- definitions ---------------------------------------------------------------------
    def create(
        self,
        *,
        flow: str,
        cron: str,
        timezone: str = "UTC",
        input: dict[str, Any] | list[Any] | None = None,
        enabled: bool = True,
        overlap: str = "skip",
        misfire: str = "run_once",
        name: str | None = None,
    ) -> Schedule:
        spec = parse_spec(
            name=name,
            flow=flow,
            cron=cron,
            timezone=timezone,
            input=input,
            enabled=enabled,
            overlap=overlap,
            misfire=misfire,
        )
        name = spec.name or self._free_name(spec.flow)
        self._check_free(name)
        schedule = Schedule(
            id=new_id("sch"),
            **spec.model_dump(exclude={"name"}),
            name=name,
            next_fire_at=next_fire_time(spec.cron, spec.timezone, self.clock()),
        )
        with self._session() as session:
            session.add(schedule)
            try:
                session.commit()
            except IntegrityError:  # created by someone else since the check
                session.rollback()
                self._check_free(name)
                raise
        return schedule

    def named(self, name: str) -> Schedule | None:
        with self._session() as session:
            return session.exec(select(Schedule).where(Schedule.name == name)).first()

    def _check_free(self, name: str, *, but: str | None = None) -> None:
        taken = self.named(name)
        if taken is not None and taken.id != but:
            raise ScheduleNameTaken(
                f"a schedule named {name!r} already exists ({taken.id}); choose another name, "
                f"or delete that one first: bpa schedules rm {shlex.quote(name)}"
            )

    def _free_name(self, flow: str, *, but: str | None = None) -> str:
        """A schedule given no name is named after its flow: `flow`, else `flow-2`, ..."""
        query = select(Schedule.name).where(col(Schedule.name).startswith(flow))
        if but is not None:
            query = query.where(col(Schedule.id) != but)
        with self._session() as session:
            taken = set(session.exec(query).all())
        n = 1
        while (name := flow if n == 1 else f"{flow}-{n}") in taken:
            n += 1
        return name

    def get(self, schedule_id: str) -> Schedule:
        with self._session() as session:
            schedule = session.get(Schedule, schedule_id)
        if schedule is None:
            raise ScheduleNotFound(f"no schedule with id {schedule_id!r}; `bpa schedules list`")
        return schedule

    def list(self, *, flow: str | None = None, enabled: bool | None = None) -> Schedules:
        query = select(Schedule).order_by(col(Schedule.id))
        if flow is not None:
            query = query.where(Schedule.flow == flow)
        if enabled is not None:
            query = query.where(Schedule.enabled == enabled)
        with self._session() as session:
            return list(session.exec(query).all())

    def update(self, schedule_id: str, **changes: Any) -> Schedule:
        """Change fields; a new cron or timezone, or re-enabling, counts from now."""
        current = self.get(schedule_id)
        fields = current.model_dump(include=set(ScheduleSpec.model_fields))
        unknown = set(changes) - set(ScheduleSpec.model_fields)
        if unknown:
            raise ScheduleError(f"cannot change {', '.join(sorted(unknown))}")
        spec = parse_spec(**{**fields, **changes})
        values: dict[str, Any] = {**spec.model_dump(exclude={"name"}), "updated_at": utcnow()}
        values["name"] = spec.name or self._free_name(spec.flow, but=schedule_id)
        self._check_free(values["name"], but=schedule_id)
        retimed = spec.cron != current.cron or spec.timezone != current.timezone
        if retimed or (spec.enabled and not current.enabled):
            values["next_fire_at"] = next_fire_time(spec.cron, spec.timezone, self.clock())
        with self._session() as session:
            session.exec(update(Schedule).where(col(Schedule.id) == schedule_id).values(**values))
            try:
                session.commit()
            except IntegrityError:  # the name was taken since the check
                session.rollback()
                self._check_free(values["name"], but=schedule_id)
                raise
        return self.get(schedule_id)

    def delete(self, schedule_id: str) -> None:
        """Remove the schedule and its firing history (runs it started stay)."""
        self.get(schedule_id)
        with self._session() as session:
            firings = col(ScheduleFiring.schedule_id) == schedule_id
            session.exec(delete(ScheduleFiring).where(firings))
            session.exec(delete(Schedule).where(col(Schedule.id) == schedule_id))
            session.commit()

    def firings(self, schedule_id: str, *, limit: int = 50) -> Firings:
        """Newest first."""
        query = (
            select(ScheduleFiring)
            .where(ScheduleFiring.schedule_id == schedule_id)
            .order_by(col(ScheduleFiring.fire_time).desc(), col(ScheduleFiring.id).desc())
            .limit(limit)
        )
        with self._session() as session:
            return list(session.exec(query).all())

    # -- what the scheduler loop needs -------------------------------------------------------
    def due(self, now: dt.datetime) -> Schedules:
        query = select(Schedule).where(
            col(Schedule.enabled).is_(True),
            col(Schedule.next_fire_at).is_not(None),
            col(Schedule.next_fire_at) <= now,
        )
        with self._session() as session:
            return list(session.exec(query.order_by(col(Schedule.next_fire_at))).all())

    def claim_firing(
        self,
        schedule_id: str,
        fire_time: dt.datetime,
        *,
        status: FiringStatus,
        created_at: dt.datetime,
        batch_id: str | None = None,
        detail: str | None = None,
    ) -> ScheduleFiring | None:
        """Record a firing; None when another scheduler recorded this one first."""
        firing = ScheduleFiring(
            schedule_id=schedule_id,
            fire_time=fire_time,
            status=status,
            batch_id=batch_id,
            detail=detail,
            created_at=created_at,
        )
        with self._session() as session:
            session.add(firing)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None
        return firing

    def settle(self, firing_id: int, *, status: FiringStatus, **fields: Any) -> None:
        stmt = update(ScheduleFiring).where(col(ScheduleFiring.id) == firing_id)
        with self._session() as session:
            session.exec(stmt.values(status=status, **fields))
            session.commit()

    def advance(
        self,
        schedule_id: str,
        *,
        seen: dt.datetime,
        next_fire_at: dt.datetime,
        last_fired_at: dt.datetime | None,
    ) -> None:
        """Move `next_fire_at` on, unless another scheduler already did (or a user changed it)."""
        row = col(Schedule.id) == schedule_id
        with self._session() as session:
            session.exec(
                update(Schedule)
                .where(row, col(Schedule.next_fire_at) == seen)
                .values(next_fire_at=next_fire_at)
            )
            if last_fired_at is not None:
                later = or_(
                    col(Schedule.last_fired_at).is_(None),
                    col(Schedule.last_fired_at) < last_fired_at,
                )
                session.exec(update(Schedule).where(row, later).values(last_fired_at=last_fired_at))
            session.commit()

    def firings_in(
        self, statuses: Sequence[FiringStatus], *, before: dt.datetime | None = None
    ) -> Firings:
        query = select(ScheduleFiring).where(col(ScheduleFiring.status).in_(statuses))
        if before is not None:
            query = query.where(col(ScheduleFiring.created_at) < before)
        with self._session() as session:
            return list(session.exec(query.order_by(col(ScheduleFiring.fire_time))).all())

    def unfinished_runs(self, schedule_id: str) -> int:
        """Runs this schedule started that are still queued, running or waiting."""
        query = (
            select(func.count())
            .select_from(Run)
            .join(
                ScheduleFiring,
                or_(
                    col(Run.id) == col(ScheduleFiring.run_id),
                    col(Run.batch_id) == col(ScheduleFiring.batch_id),
                ),
            )
            .where(
                ScheduleFiring.schedule_id == schedule_id,
                col(ScheduleFiring.status) == FiringStatus.started,
                col(Run.status).in_(_UNFINISHED),
            )
        )
        with self._session() as session:
            return int(session.exec(query).one())
