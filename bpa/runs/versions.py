"""The versions runs were created on (`bpa_flow_versions`), and the guard that keeps a waiting
run from resuming on a graph its checkpoint no longer fits (see bpa/versions.py).

Every path that carries a waiting run on passes the guard: answering it in this process
(`Runner.resume`) or recording the answer for a worker (`queue_decision`) both validate the
answer through `Runner.answer_of`, which refuses; a worker that takes up an answered run
whose code changed since the answer was queued hands the question back (`send_back`).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from sqlalchemy import Column, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import JSON, Field, SQLModel

from bpa.db import table_of
from bpa.errors import FlowVersionMismatch
from bpa.flows import Flow
from bpa.runs.store import RunStore
from bpa.runs.tables import Approval, ApprovalStatus, Run, RunEvent, RunStatus, utcnow
from bpa.versions import FlowVersion, resume_problem, version_of

__all__ = ["FlowVersionRecord", "FlowVersions", "refusal_message", "version_runs"]


class FlowVersionRecord(SQLModel, table=True):
    """A version of a flow some process created runs on (or resumed them with)."""

    __tablename__ = "bpa_flow_versions"

    flow: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    declared: str = Field(description="The version the flow's author declared (`Flow.version`)")
    package: str | None = Field(default=None, description="Distribution and version, if any")
    manifest: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="Nodes, edges, state keys and asset hashes: what the version id hashes",
    )
    first_seen: dt.datetime = Field(default_factory=utcnow)


_VERSIONS = table_of(FlowVersionRecord)
_RUNS = table_of(Run)
_APPROVALS = table_of(Approval)
#: Events after which a run goes on: the last one says whether a queued answer is unapplied.
_CARRIED_ON = ("decision_recorded", "resumed", "run_recovered", "run_started")


def refusal_message(run: Run, node: str | None, current: FlowVersion, problem: str) -> str:
    """One line: why the run cannot resume here, and the command that moves it."""
    where = f" at node {node!r}" if node else ""
    at = "" if node in current.manifest.get("nodes", {}) else " --at NODE"
    return (
        f"run {run.id} waits{where} on version {run.flow_version} of flow {run.flow!r}, which "
        f"the installed version {current.id} cannot resume: {problem}. Move it to the "
        f"installed version with `bpa runs migrate {run.id}{at}` (recorded in its audit "
        "trail), then answer it again"
    )


class FlowVersions:
    """The installed version of each flow (computed once per process, recorded on first use)
    and the recorded versions runs were created on."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.engine = store.engine
        self._current: dict[str, FlowVersion] = {}
        self._recorded: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()  # the API computes from its thread pool

    def current(self, flow: Flow) -> FlowVersion:
        found = self._current.get(flow.name)
        if found is None:
            with self._lock:
                found = self._current.get(flow.name)
                if found is None:
                    found = version_of(flow)
                    self._record(found)
                    self._current[flow.name] = found
        return found

    def _record(self, version: FlowVersion) -> None:
        if self.recorded(version.flow, version.id) is not None:
            return
        row = {
            "flow": version.flow,
            "version": version.id,
            "declared": str(version.manifest.get("declared", "")),
            "package": version.package,
            "manifest": version.manifest,
            "first_seen": utcnow(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_VERSIONS).values(**row))
        except IntegrityError:  # another process recorded it first
            pass
        self._recorded[(version.flow, version.id)] = version.manifest

    def recorded(self, flow: str, version: str) -> dict[str, Any] | None:
        """The manifest recorded for a version (None: never recorded, e.g. a run from before
        versions were)."""
        key = (flow, version)
        if key not in self._recorded:
            query = select(_VERSIONS.c.manifest).where(
                _VERSIONS.c.flow == flow, _VERSIONS.c.version == version
            )
            with self.engine.connect() as conn:
                manifest = conn.execute(query).scalar()
            if manifest is None:
                return None  # not cached: a process may record it later
            self._recorded[key] = manifest
        return self._recorded[key]

    def refusal(self, run: Run, node: str | None, flow: Flow) -> str | None:
        """Why the run, waiting at `node`, cannot resume on the installed flow (None: it can)."""
        current = self.current(flow)
        if run.flow_version == current.id:
            return None
        problem = resume_problem(self.recorded(run.flow, run.flow_version), current, node)
        return None if problem is None else refusal_message(run, node, current, problem)

    def check_resume(self, run: Run, node: str | None, flow: Flow) -> None:
        """`FlowVersionMismatch` when the run cannot resume on the installed flow."""
        if (reason := self.refusal(run, node, flow)) is not None:
            raise FlowVersionMismatch(reason)

    def send_back(self, run: Run, flow: Flow, *, owner: str) -> Run | None:
        """For a worker about to carry on an answered run: when the installed flow cannot
        resume it (its code changed after the answer was queued), reopen its question and
        put it back to `waiting`, the answer kept in a `resume_refused` event, and return it.
        None when the run may go on (or is not an answered one)."""
        if run.status != RunStatus.queued or run.flow_version == self.current(flow).id:
            return None
        trail = self.store.events(run.id, kinds=_CARRIED_ON)
        if not trail or trail[-1].kind != "decision_recorded":
            return None  # not an answer waiting to be applied (e.g. a run parked for a connector)
        answered = next(
            (
                a
                for a in self.store.approvals(run.id)
                if a.id == trail[-1].payload.get("approval_id")
            ),
            None,
        )
        if answered is None or answered.status != ApprovalStatus.decided:
            return None
        reason = self.refusal(run, answered.node, flow)
        if reason is None:
            return None
        with self.engine.begin() as conn:
            conn.execute(
                update(_APPROVALS)
                .where(_APPROVALS.c.id == answered.id)
                .values(
                    status=ApprovalStatus.pending, decision=None, decided_by=None, decided_at=None
                )
            )
        event = RunEvent(
            run_id=run.id,
            kind="resume_refused",
            node=answered.node,
            payload={"reason": reason, "approval_id": answered.id, "answer": answered.decision},
        )
        return self.store.update(
            run.id,
            owner=owner,
            status=RunStatus.waiting,
            claimed_by=None,
            lease_until=None,
            events=[event],
        )


def version_runs(engine: Engine, flow: str) -> list[dict[str, Any]]:
    """Every version of `flow` that is recorded or has runs, oldest first, with its runs by
    status: `{"version", "declared", "package", "first_seen", "runs": {status: n}}`."""
    by_version: dict[str, dict[str, Any]] = {}
    recorded = (
        select(
            _VERSIONS.c.version,
            _VERSIONS.c.declared,
            _VERSIONS.c.package,
            _VERSIONS.c.first_seen,
        )
        .where(_VERSIONS.c.flow == flow)
        .order_by(_VERSIONS.c.first_seen)
    )
    counts = (
        select(_RUNS.c.flow_version, _RUNS.c.status, func.count(), func.min(_RUNS.c.created_at))
        .where(_RUNS.c.flow == flow)
        .group_by(_RUNS.c.flow_version, _RUNS.c.status)
    )
    with engine.connect() as conn:
        for version, declared, package, first_seen in conn.execute(recorded):
            by_version[version] = {
                "version": version,
                "declared": declared,
                "package": package,
                "first_seen": first_seen,
                "runs": {},
            }
        for version, status, n, first_run in conn.execute(counts):
            entry = by_version.setdefault(
                version,
                {"version": version, "declared": None, "package": None, "first_seen": first_run},
            )
            entry.setdefault("runs", {})[str(status)] = n
            if entry["first_seen"] is None or first_run < entry["first_seen"]:
                entry["first_seen"] = first_run
    return sorted(by_version.values(), key=lambda entry: _aware(entry["first_seen"]))


def _aware(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
