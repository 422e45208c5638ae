"""Rolling a run back: the declared undo of every side effect it made, newest first.

What a run did is read from its audit trail: each successful side-effecting
`connector_call` (its result from the engine's ledger where it holds the call). Each is
undone with the undo its connector declares (`connectors.undo`), through the same audited,
idempotent path as any call (`AuditedConnector.call_undo`): under the key `undo:<key>`,
with an event that names the calls it undid (``undoes``). So a rollback that dies half-way
and is run again skips what its first attempt undid, a call the flow itself already undid
(the invoice flow voids a rejected bill this way) is not undone twice, and a second
rollback finds nothing left. Two calls whose undo is the same request (a bill created,
then posted: one void) are undone once.

The first undo that fails stops the rollback (an older effect may depend on the newer one
being undone): the run is `rollback_failed`, and the trail and the run's error list what
is left; running the rollback again carries on from there. A call that cannot be undone
(`Irreversible`: an e-mail a mail server accepted) is listed as such, not as a failure.

Which runs: finished ones (succeeded, failed, cancelled), a run whose rollback failed, and
a waiting one, which is cancelled first (its question is withdrawn). A queued or running
run is refused: a worker executes it; cancel it first. While it rolls back, the rollback
holds the run's lease (bpa/runs/leases.py), so nothing executes or resumes the run
meanwhile; a lease left by a rollback whose process died on this host is taken over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bpa.effects import EffectLedger
from bpa.errors import InvalidInput, RunStateError
from bpa.resilience import ConnectorGuard
from bpa.runs.audit import CALL, EFFECT_KINDS, RunAudit
from bpa.runs.context import AuditedConnector, complete_effects
from bpa.runs.leases import HeldLease, owner_is_dead, process_owner
from bpa.runs.store import RunStore
from bpa.runs.tables import Run, RunEvent, RunStatus, utcnow
from bpa.runs.undos import Step, effects_of, plan

if TYPE_CHECKING:
    from bpa.suite import Suite
from connectors.base import Connector
from connectors.errors import ConnectorError

__all__ = ["ROLLBACKABLE", "RollbackReport", "RunRollback", "Step"]

#: The statuses a rollback starts from (a waiting run is cancelled first).
ROLLBACKABLE = (
    RunStatus.succeeded,
    RunStatus.failed,
    RunStatus.cancelled,
    RunStatus.waiting,
    RunStatus.rollback_failed,
)
STARTED = "rollback_started"
FINISHED = "rollback_finished"
FAILED = "rollback_failed"
#: Step outcomes that still need an undo.
_TODO = ("planned", "covered", "failed")
#: Times the trail is read again for effects that appeared while undoing (a worker that
#: was cancelled finishing its last call).
_ROUNDS = 3


@dataclass
class RollbackReport:
    """What a rollback did: one step per side effect of the run, newest first."""

    run_id: str
    status: RunStatus
    reason: str
    steps: list[Step] = field(default_factory=list)
    #: True when the run was rolled back already and nothing was done now.
    noop: bool = False

    @property
    def left(self) -> list[Step]:
        return [s for s in self.steps if s.outcome in ("failed", "left")]

    def lines(self) -> list[str]:
        return [step.line() for step in self.steps]

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": str(self.status),
            "reason": self.reason,
            "noop": self.noop,
            "steps": [step.as_json() for step in self.steps],
            "left": [step.as_json() for step in self.left],
        }


class _Renewed(HeldLease):
    """The run's lease, renewed while the rollback runs; the rollback gives it back itself
    (and, stopped from outside, writes no "run paused" event: the run does not resume)."""

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()


class RunRollback:
    """Rolls runs back with the suite's connectors (the CLI and the API use one each)."""

    def __init__(
        self,
        store: RunStore,
        connectors: Mapping[str, Connector],
        *,
        owner: str | None = None,
        lease_s: float = 60.0,
        guards: Mapping[str, ConnectorGuard] | None = None,
    ) -> None:
        self.store = store
        self.connectors = connectors
        #: Retries and circuit breakers (bpa/resilience.py): undos are calls like any other.
        self.guards = dict(guards or {})
        self.ledger = EffectLedger(store.engine)
        self.owner = owner or process_owner()
        self.lease_s = lease_s

    @classmethod
    def of(cls, suite: Suite) -> RunRollback:
        """The rollback of `suite`'s runs: its connectors behind their guards, its lease time."""
        return cls(
            suite.store,
            suite.connectors,
            lease_s=suite.settings.run_lease_s,
            guards=suite.runner.guards,
        )

    async def __call__(self, run_id: str, *, reason: str, by: str | None = None) -> RollbackReport:
        """Undo what run `run_id` did; `reason` is kept in the trail and in undo requests
        that record one (a voided bill's reason, a closed ticket's note)."""
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("a rollback needs a reason (--reason): it goes in the audit trail")
        run = self.store.get(run_id)
        if run.status == RunStatus.rolled_back:
            steps = self._plan(run_id, self._first_reason(run_id) or reason)
            for step in steps:  # only if the trail changed since: shown, not done
                if step.outcome in _TODO and step.outcome != "failed":
                    step.outcome, step.detail = "left", "not undone"
            return RollbackReport(run_id, run.status, reason, steps, noop=True)
        if run.status not in ROLLBACKABLE:
            raise RunStateError(
                f"run {run_id} is {run.status}: a worker executes it; cancel it first "
                "(POST /runs/{id}/cancel), then roll it back"
            )
        self._take_lease(run)
        done = False
        try:
            async with _Renewed(self.store, run_id, self.owner, self.lease_s):
                report = await self._roll_back(run, reason, by)
            done = True
            return report
        finally:
            if not done:  # an unexpected stop: the lease goes back at once
                self.store.release(run_id, self.owner)

    # -- internals --------------------------------------------------------------------------
    def _take_lease(self, run: Run) -> None:
        statuses = ROLLBACKABLE
        if self.store.acquire(run.id, self.owner, lease_s=self.lease_s, statuses=statuses):
            return
        holder = self.store.get(run.id).claimed_by
        if (
            holder
            and owner_is_dead(holder)
            and self.store.release(run.id, holder)
            and self.store.acquire(run.id, self.owner, lease_s=self.lease_s, statuses=statuses)
        ):
            return
        raise RunStateError(
            f"run {run.id} is held by {holder or 'another process'} (being resumed or rolled "
            "back); try again when it is done"
        )

    def _first_reason(self, run_id: str) -> str | None:
        """The reason of the run's first rollback: an attempt after a crash carries it on, so
        its undo requests are the first attempt's (same keys, same requests)."""
        started = self.store.events(run_id, kinds=(STARTED,))
        return str(started[0].payload.get("reason")) if started else None

    def _audited(self, name: str, audit: RunAudit, run_id: str) -> AuditedConnector | None:
        connector = self.connectors.get(name)
        if connector is None:
            return None
        return AuditedConnector(
            connector, audit, self.ledger, run_id=run_id, guard=self.guards.get(name)
        )

    def _plan(self, run_id: str, reason: str) -> list[Step]:
        events = self.store.events(run_id, kinds=(CALL,))
        return plan(effects_of(events), self.connectors, self.ledger, reason)

    async def _roll_back(self, run: Run, reason: str, by: str | None) -> RollbackReport:
        if run.status == RunStatus.waiting:
            run = self._cancel(run, reason)
        undo_reason = self._first_reason(run.id) or reason
        audit = RunAudit(run.id, self.store.add_events)
        trail = self.store.events(run.id, kinds=EFFECT_KINDS)
        await complete_effects(audit, self.connectors, trail)  # undos a dead attempt made
        attempt = len(self.store.events(run.id, kinds=(STARTED,))) + 1
        audit.record(
            STARTED, {"reason": reason, "by": by, "attempt": attempt, "undo_reason": undo_reason}
        )
        audit.flush()
        steps: list[Step] = []
        try:
            for round_ in range(_ROUNDS):
                fresh = self._plan(run.id, undo_reason)
                if round_:  # effects that appeared meanwhile (newer than all the others)
                    known = {(s.connector, s.key) for s in steps}
                    fresh = [s for s in fresh if (s.connector, s.key) not in known]
                steps = fresh + steps if round_ else fresh
                if not any(s.outcome in _TODO for s in fresh):
                    break
                if not await self._undo(fresh, audit, run.id):
                    break
        except Exception as exc:  # recorded and explained, like a failed run
            pending = [s for s in steps if s.outcome in (*_TODO, "left")]
            if not pending:  # it broke before anything was planned: nothing to explain
                raise
            for step in pending:
                step.outcome, step.detail = "left", "not tried: an undo before it failed"
            if pending:
                pending[0].outcome = "failed"
                pending[0].detail = f"{type(exc).__name__}: {exc}"
        return self._finish(run, reason, by, steps)

    async def _undo(self, steps: Sequence[Step], audit: RunAudit, run_id: str) -> bool:
        """Make the planned undos, newest first; the first failure stops the rest. False
        when one failed."""
        failed = False
        for step in steps:
            if failed and step.outcome in _TODO:
                step.outcome, step.detail = "left", "not tried: an undo before it failed"
            elif step.outcome == "failed":
                failed = True
            elif step.outcome == "planned":
                audited = self._audited(step.connector, audit, run_id)
                assert step.request is not None and audited is not None  # planning saw both
                try:
                    await audited.call_undo(step.action, step.request, undoes=step.undoes)
                except ConnectorError as exc:
                    step.outcome, step.detail = "failed", f"{exc.code}: {exc.message}"
                    failed = True
                else:
                    step.outcome = "undone"
        for step in steps:
            if step.outcome == "covered" and step.covered_by is not None:
                step.outcome = "left" if failed else step.covered_by.outcome
        return not failed

    def _cancel(self, run: Run, reason: str) -> Run:
        """A waiting run is cancelled before its rollback, so no answer can resume it."""
        message = f"rolled back: {reason}"
        return self.store.update(
            run.id,
            owner=self.owner,
            statuses=[RunStatus.waiting],
            status=RunStatus.cancelled,
            finished_at=utcnow(),
            error={"code": "cancelled", "message": message},
            events=[
                RunEvent(
                    run_id=run.id,
                    kind="run_finished",
                    payload={"status": "cancelled", "reason": message},
                )
            ],
        )

    def _finish(self, run: Run, reason: str, by: str | None, steps: list[Step]) -> RollbackReport:
        left = [s for s in steps if s.outcome in ("failed", "left")]
        status = RunStatus.rollback_failed if left else RunStatus.rolled_back
        previous = _previous_error(run.error)
        summary = {
            "status": str(status),
            "reason": reason,
            "by": by,
            "steps": [s.as_json() for s in steps],
        }
        if left:
            failed = left[0]
            error: dict[str, Any] | None = {
                "code": "rollback_failed",
                "message": f"undoing {failed.connector}.{failed.action} failed "
                f"({failed.detail}); {len(left)} side effect(s) left to undo; fix the cause "
                "and roll back again",
                "left": [s.as_json() for s in left],
                "previous": previous,
            }
        else:
            error = previous
        event = RunEvent(run_id=run.id, kind=FAILED if left else FINISHED, payload=summary)
        self.store.update(
            run.id,
            owner=self.owner,
            status=status,
            error=error,
            finished_at=run.finished_at or utcnow(),
            claimed_by=None,
            lease_until=None,
            events=[event],
        )
        return RollbackReport(run.id, status, reason, steps)


def _previous_error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """The run's own error, under a failed rollback's error if there is one."""
    if error and error.get("code") == "rollback_failed":
        previous = error.get("previous")
        return previous if isinstance(previous, dict) else None
    return error
