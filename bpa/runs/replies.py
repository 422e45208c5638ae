"""Conversations: a message that answers a run's open question continues that run.

A flow that waits for someone outside (a customer) asks a question whose details carry
`reply_keys` (e.g. the Message-ID of the e-mail it sent, a chat session) and, optionally,
`expires_at`. When the run waits, the keys are written to `bpa_reply_keys` (key -> the run
and its open question). Every submission of a message (`submit`: the API, the CLI, the
inbox) looks its keys up first (`Flow.reply_keys`); when a waiting run's open question is
under one of them and the flow accepts the message as its answer (`Flow.accepts_reply`: the
sender is the one asked), the message is recorded as the answer and the run queued, in one
transaction with its audit event, instead of starting a new run. The message's own key
(its idempotency key) is written in that transaction too, so a second delivery of the same
message finds the run it answered and resumes nothing.

A question not answered by `expires_at` is answered `{"action": "expired"}` by the sweeper
(`expire_due`); the flow decides what that means.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import PrimaryKeyConstraint, delete, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from bpa.db import table_of
from bpa.runs.answers import record_answer
from bpa.runs.tables import Approval, ApprovalStatus, Run, RunStatus, utcnow

if TYPE_CHECKING:
    from bpa.flows import Flow
    from bpa.runs.runner import Runner

__all__ = ["ReplyKey", "Submission", "expire_due", "register", "submit"]

log = logging.getLogger("bpa.replies")

#: `ReplyKey.kind`: a key under which a run waits, or a message that answered a run.
THREAD, ANSWERED = "thread", "answered"
#: Keys one question may register (a thread's ids), and the longest key kept.
_MAX_KEYS = 64
_MAX_KEY_CHARS = 1100


class ReplyKey(SQLModel, table=True):
    """A conversation key and the run it belongs to."""

    __tablename__ = "bpa_reply_keys"
    __table_args__ = (PrimaryKeyConstraint("flow", "kind", "key", name="pk_reply_keys"),)

    flow: str
    kind: str = Field(description="thread: the run waits under it; answered: a message's key")
    key: str
    run_id: str = Field(index=True, foreign_key="bpa_runs.id")
    approval_id: str = Field(description="The question the key belongs to (or answered)")
    expires_at: dt.datetime | None = Field(
        default=None, index=True, description="When the sweeper answers `expired`"
    )
    created_at: dt.datetime = Field(default_factory=utcnow)


_KEYS = table_of(ReplyKey)
_RUNS = table_of(Run)
_APPROVALS = table_of(Approval)


@dataclass(frozen=True)
class Submission:
    run: Run
    #: A new run was recorded.
    created: bool
    #: The message answered this waiting run (now, or when it was delivered before).
    resumed: bool = False
    #: The message was delivered before: its run (new or answered) is as it was.
    replayed: bool = False

    @property
    def to_execute(self) -> bool:
        """Whether a worker has to take the run now: it is new, or queued again."""
        return self.created or self.run.status == RunStatus.queued


def submit(
    runner: Runner,
    flow_name: str,
    payload: dict[str, Any],
    *,
    trigger: str,
    idempotency_key: str | None = None,
    batch_id: str | None = None,
    started_by: tuple[str, float] | None = None,
) -> Submission:
    """The one way a message enters the engine: the answer to a waiting run it continues,
    else a new queued run (or the earlier one for this key). `started_by`: the new run is
    executed at once by that (owner, lease seconds), and is inserted running."""
    flow, data, idempotency_key = runner.prepare(flow_name, payload, idempotency_key)
    if idempotency_key and flow.reply_keys is not None:
        answered = _continue(runner, flow, data, idempotency_key)
        if answered is not None:
            return answered
    run, created = runner.store.create_run(
        flow=flow.name,
        flow_version=runner.versions.current(flow).id,
        input=data,
        trigger=trigger,
        idempotency_key=idempotency_key,
        batch_id=batch_id,
        started_by=started_by,
    )
    return Submission(run, created, replayed=not created)


def _continue(
    runner: Runner, flow: Flow, data: dict[str, Any], message_key: str
) -> Submission | None:
    store = runner.store
    engine = store.engine
    earlier = _answered(engine, flow.name, message_key)
    if earlier is not None:  # delivered again: the run it answered, resumed once
        return Submission(store.get(earlier), created=False, resumed=True, replayed=True)
    if store.find_by_key(flow.name, message_key) is not None:
        return None  # it started a run of its own before: that run, as any repeat
    assert flow.reply_keys is not None
    keys = [k for k in dict.fromkeys(flow.reply_keys(data)) if k][:_MAX_KEYS]
    if not keys:
        return None
    for run_id, approval_id, question in _waiting(engine, flow.name, keys):
        if flow.accepts_reply is not None and not flow.accepts_reply(question, data):
            continue
        body = {"action": "reply", "message": data, "message_key": message_key}
        event = {"approval_id": approval_id, "action": "reply", "message_key": message_key}
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(_KEYS).values(
                        flow=flow.name,
                        kind=ANSWERED,
                        key=message_key,
                        run_id=run_id,
                        approval_id=approval_id,
                        created_at=utcnow(),
                    )
                )
                _answer(conn, run_id, approval_id, body, event)
        except _Lost:
            continue  # answered or changed meanwhile: another waiting run may fit
        except IntegrityError:  # the same message, delivered twice at once
            earlier = _answered(engine, flow.name, message_key)
            if earlier is None:
                raise
            return Submission(store.get(earlier), created=False, resumed=True, replayed=True)
        log.info("message %s answers waiting run %s", message_key, run_id)
        return Submission(store.get(run_id), created=False, resumed=True)
    return None


def _answered(engine: Engine, flow: str, message_key: str) -> str | None:
    query = select(_KEYS.c.run_id).where(
        _KEYS.c.flow == flow, _KEYS.c.kind == ANSWERED, _KEYS.c.key == message_key
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def _waiting(engine: Engine, flow: str, keys: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """Waiting runs whose open question is under one of `keys`, newest question first."""
    query = (
        select(_KEYS.c.run_id, _KEYS.c.approval_id, _APPROVALS.c.question)
        .join(_APPROVALS, _APPROVALS.c.id == _KEYS.c.approval_id)
        .join(_RUNS, _RUNS.c.id == _KEYS.c.run_id)
        .where(
            _KEYS.c.flow == flow,
            _KEYS.c.kind == THREAD,
            _KEYS.c.key.in_(keys),
            _APPROVALS.c.status == ApprovalStatus.pending,
            _RUNS.c.status == RunStatus.waiting,
        )
        .order_by(_APPROVALS.c.created_at.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    seen: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for run_id, approval_id, question in rows:
        seen.setdefault(approval_id, (run_id, approval_id, question or {}))
    return list(seen.values())


class _Lost(Exception):
    """The question was answered, or the run changed, before this answer was recorded."""


def _answer(
    conn: Connection,
    run_id: str,
    approval_id: str,
    body: dict[str, Any],
    event: dict[str, Any],
) -> None:
    """Record `body` as the answer, queue the run and append its event (in `conn`'s
    transaction); `_Lost` (rolling it back) when the question no longer waits."""
    node = conn.execute(select(_APPROVALS.c.node).where(_APPROVALS.c.id == approval_id)).scalar()
    if not record_answer(
        conn,
        run_id=run_id,
        approval_id=approval_id,
        node=node,
        body=body,
        decided_by=body.get("decided_by"),
        event=event,
        now=utcnow(),
    ):
        raise _Lost(run_id)


def register(engine: Engine, run: Run, approval: Approval) -> None:
    """Write the keys a waiting run's question names (`details.reply_keys`); a key another
    run waited under before now belongs to this one."""
    details = (approval.question or {}).get("details") or {}
    keys = [str(k)[:_MAX_KEY_CHARS] for k in details.get("reply_keys") or [] if k]
    keys = list(dict.fromkeys(keys))[:_MAX_KEYS]
    if not keys:
        return
    expires = _when(details.get("expires_at"))
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            delete(_KEYS).where(
                _KEYS.c.flow == run.flow, _KEYS.c.kind == THREAD, _KEYS.c.key.in_(keys)
            )
        )
        conn.execute(
            insert(_KEYS),
            [
                {
                    "flow": run.flow,
                    "kind": THREAD,
                    "key": key,
                    "run_id": run.id,
                    "approval_id": approval.id,
                    "expires_at": expires,
                    "created_at": now,
                }
                for key in keys
            ],
        )


def _when(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def expire_due(engine: Engine, *, now: dt.datetime | None = None, batch: int = 500) -> list[str]:
    """Answer `{"action": "expired"}` to the waiting questions past their `expires_at`, and
    queue their runs; the runs queued."""
    now = now or utcnow()
    query = (
        select(_KEYS.c.run_id, _KEYS.c.approval_id)
        .join(_APPROVALS, _APPROVALS.c.id == _KEYS.c.approval_id)
        .join(_RUNS, _RUNS.c.id == _KEYS.c.run_id)
        .where(
            _KEYS.c.kind == THREAD,
            _KEYS.c.expires_at < now,
            _APPROVALS.c.status == ApprovalStatus.pending,
            _RUNS.c.status == RunStatus.waiting,
        )
        .distinct()
        .limit(batch)
    )
    with engine.connect() as conn:
        due = conn.execute(query).all()
    queued: list[str] = []
    for run_id, approval_id in due:
        body = {"action": "expired", "decided_by": "bpa:sweeper"}
        event = {"approval_id": approval_id, "action": "expired"}
        try:
            with engine.begin() as conn:
                _answer(conn, run_id, approval_id, body, event)
        except _Lost:
            continue
        queued.append(run_id)
    return queued
