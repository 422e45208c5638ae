"""Automation health per flow and version, from SQL aggregates (`bpa stats`, `/metrics`).

A change in these numbers after a new flow version is how drift is seen. Per flow and version:

- runs by status (outcome); a status counts as finished unless it is queued, running or
  waiting, so statuses added later (`rolled_back`, `rollback_failed`) count without a change
  here;
- automation rate: runs that succeeded without asking anyone, out of the finished runs;
- correction rate per field: finished runs in which a human corrected that field (a
  `correct` decision), out of the finished runs;
- rollbacks: runs `rolled_back` or `rollback_failed`;
- p50 / p95 duration of finished runs, from start (or creation) to finish: time spent
  waiting for a human counts;
- model calls per started run (`model_call` audit events).

Six queries, each one pass over its table grouped in the database; nothing per run is
loaded here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    bindparam,
    case,
    exists,
    func,
    select,
    text,
)

from bpa.db import table_of
from bpa.runs.tables import Approval, Run, RunEvent

__all__ = ["UNFINISHED", "VersionStats", "flow_stats"]

UNFINISHED = ("queued", "running", "waiting")
ROLLBACKS = ("rolled_back", "rollback_failed")

_RUNS = table_of(Run)
_EVENTS = table_of(RunEvent)
_APPROVALS = table_of(Approval)


@dataclass
class VersionStats:
    flow: str
    version: str
    runs: dict[str, int] = field(default_factory=dict)
    started: int = 0
    #: Succeeded without a question to a human.
    automated: int = 0
    #: Field -> finished runs in which a human corrected it.
    corrected: dict[str, int] = field(default_factory=dict)
    model_calls: int = 0
    p50_s: float | None = None
    p95_s: float | None = None

    @property
    def total(self) -> int:
        return sum(self.runs.values())

    @property
    def finished(self) -> int:
        return sum(n for status, n in self.runs.items() if status not in UNFINISHED)

    @property
    def rollbacks(self) -> int:
        return sum(self.runs.get(status, 0) for status in ROLLBACKS)

    @property
    def automation_rate(self) -> float | None:
        return self.automated / self.finished if self.finished else None

    @property
    def correction_rates(self) -> dict[str, float]:
        if not self.finished:
            return {}
        return {name: n / self.finished for name, n in sorted(self.corrected.items())}

    @property
    def model_calls_per_run(self) -> float | None:
        return self.model_calls / self.started if self.started else None

    def as_json(self) -> dict[str, object]:
        return {
            "flow": self.flow,
            "version": self.version,
            "runs": dict(sorted(self.runs.items())),
            "finished": self.finished,
            "automation_rate": self.automation_rate,
            "correction_rates": self.correction_rates,
            "rollbacks": self.rollbacks,
            "duration_p50_s": self.p50_s,
            "duration_p95_s": self.p95_s,
            "model_calls_per_run": self.model_calls_per_run,
        }


def flow_stats(
    engine: Engine, *, flow: str | None = None, since: dt.datetime | None = None
) -> list[VersionStats]:
    """Every (flow, version) with runs created since `since` (all when None), sorted."""
    found: dict[tuple[str, str], VersionStats] = {}

    def entry(row: Sequence[Any]) -> VersionStats:
        key = (str(row[0]), str(row[1]))
        if key not in found:
            found[key] = VersionStats(*key)
        return found[key]

    where = _run_filter(flow, since)
    with engine.connect() as conn:
        for row in conn.execute(_outcomes(where)):
            stats = entry(row)
            stats.runs[str(row[2])] = int(row[3])
            stats.started += int(row[4])
        for row in conn.execute(_automated(where)):
            entry(row).automated = int(row[2])
        for fixed in _corrections(conn, flow, since):
            entry(fixed).corrected[str(fixed[2])] = int(fixed[3])
        for row in conn.execute(_model_calls(where)):
            entry(row).model_calls = int(row[2])
        for row in conn.execute(_durations(conn, where)):
            stats = entry(row)
            stats.p50_s, stats.p95_s = _seconds(row[2]), _seconds(row[3])
    return [found[key] for key in sorted(found)]


def _run_filter(flow: str | None, since: dt.datetime | None) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if flow is not None:
        clauses.append(_RUNS.c.flow == flow)
    if since is not None:
        clauses.append(_RUNS.c.created_at >= since)
    return clauses


def _outcomes(where: list[ColumnElement[bool]]) -> Any:
    return (
        select(
            _RUNS.c.flow,
            _RUNS.c.flow_version,
            _RUNS.c.status,
            func.count(),
            func.count(_RUNS.c.started_at),
        )
        .where(*where)
        .group_by(_RUNS.c.flow, _RUNS.c.flow_version, _RUNS.c.status)
    )


def _automated(where: list[ColumnElement[bool]]) -> Any:
    asked = exists().where(_APPROVALS.c.run_id == _RUNS.c.id)
    return (
        select(_RUNS.c.flow, _RUNS.c.flow_version, func.count())
        .where(_RUNS.c.status == "succeeded", ~asked, *where)
        .group_by(_RUNS.c.flow, _RUNS.c.flow_version)
    )


def _model_calls(where: list[ColumnElement[bool]]) -> Any:
    return (
        select(_RUNS.c.flow, _RUNS.c.flow_version, func.count())
        .select_from(_EVENTS.join(_RUNS, _RUNS.c.id == _EVENTS.c.run_id))
        .where(_EVENTS.c.kind == "model_call", *where)
        .group_by(_RUNS.c.flow, _RUNS.c.flow_version)
    )


#: Fields a human corrected, per flow and version: one row per (run, field) of the `correct`
#: decisions of finished runs, counted once per run. The JSON functions differ by database.
_CORRECTIONS = {
    "sqlite": """
        SELECT r.flow, r.flow_version, j.key, COUNT(DISTINCT r.id)
        FROM bpa_approvals a
        JOIN bpa_runs r ON r.id = a.run_id,
             json_each(a.decision, '$.corrections') j
        WHERE a.decision IS NOT NULL
          AND json_extract(a.decision, '$.action') = 'correct'
          AND j.type != 'null'
          AND r.status NOT IN ('queued', 'running', 'waiting'){filters}
        GROUP BY r.flow, r.flow_version, j.key
    """,
    "postgresql": """
        SELECT r.flow, r.flow_version, j.key, COUNT(DISTINCT r.id)
        FROM bpa_approvals a
        JOIN bpa_runs r ON r.id = a.run_id,
             json_each(a.decision -> 'corrections') j
        WHERE a.decision IS NOT NULL
          AND a.decision ->> 'action' = 'correct'
          AND json_typeof(a.decision -> 'corrections') = 'object'
          AND json_typeof(j.value) != 'null'
          AND r.status NOT IN ('queued', 'running', 'waiting'){filters}
        GROUP BY r.flow, r.flow_version, j.key
    """,
}


def _corrections(
    conn: Connection, flow: str | None, since: dt.datetime | None
) -> list[Sequence[Any]]:
    sql = _CORRECTIONS.get(conn.dialect.name)
    if sql is None:  # another database: no correction rates rather than no stats
        return []
    filters = ""
    params: list[Any] = []
    if flow is not None:
        filters += " AND r.flow = :flow"
        params.append(bindparam("flow", flow))
    if since is not None:  # bound as the column's type, so it compares as the column stores it
        filters += " AND r.created_at >= :since"
        params.append(bindparam("since", since, type_=_RUNS.c.created_at.type))
    query = text(sql.format(filters=filters)).bindparams(*params)
    return [tuple(row) for row in conn.execute(query)]


def _duration(conn: Connection) -> ColumnElement[Any]:
    """Seconds from start (or creation) to finish, as the database computes it."""
    begun = func.coalesce(_RUNS.c.started_at, _RUNS.c.created_at)
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", _RUNS.c.finished_at - begun)
    return (func.julianday(_RUNS.c.finished_at) - func.julianday(begun)) * 86400.0


def _durations(conn: Connection, where: list[ColumnElement[bool]]) -> Any:
    """Nearest-rank p50 and p95: the first duration whose share of the group's finished runs
    at or below it reaches 50% / 95%. PostgreSQL has the aggregate (`percentile_disc`);
    elsewhere a window function (`cume_dist`) ranks them, in one sort."""
    seconds = _duration(conn)
    finished = [_RUNS.c.finished_at.is_not(None), *where]
    group = (_RUNS.c.flow, _RUNS.c.flow_version)
    if conn.dialect.name == "postgresql":
        exact = [func.percentile_disc(q).within_group(seconds) for q in (0.5, 0.95)]
        return select(*group, *exact).where(*finished).group_by(*group)
    ranked = (
        select(
            *group,
            seconds.label("s"),
            func.cume_dist().over(partition_by=group, order_by=seconds).label("share"),
        )
        .where(*finished)
        .subquery()
    )
    quantiles = [func.min(case((ranked.c.share >= q, ranked.c.s))) for q in (0.5, 0.95)]
    return select(ranked.c.flow, ranked.c.flow_version, *quantiles).group_by(
        ranked.c.flow, ranked.c.flow_version
    )


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)
