"""Recording a batch: many inputs through one flow, all or nothing.

Every input is validated and every key looked up before anything is written; the new runs
are then inserted in one transaction. So a refused batch records nothing, and a batch is
never left half-recorded by a crash.

With an idempotency key, item i gets the key ``<key>#<i>``. A retry with the same inputs
finds the same runs (`BatchRecord.replayed`); the same key with other inputs, fewer or more
of them, is an `IdempotencyConflict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from bpa.errors import IdempotencyConflict
from bpa.runs.runner import Runner
from bpa.runs.store import QueuedRun, request_hash
from bpa.runs.tables import Run, new_id

__all__ = ["BatchRecord", "record_batch"]


@dataclass
class BatchRecord:
    batch_id: str
    runs: list[Run] = field(default_factory=list)
    #: Indexes of inputs that an earlier run (outside this batch) already covers: the flow
    #: keys its runs by content (e.g. a message id) and that run was found instead.
    duplicates: list[int] = field(default_factory=list)
    #: The whole batch was recorded by an earlier request with the same key.
    replayed: bool = False
    #: Runs inserted by this call (to wake the executor for).
    created: list[Run] = field(default_factory=list)


def _conflict(key: str, why: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"Idempotency-Key {key!r} was used for {why}; send exactly the same inputs to get "
        "that batch, or use a new key"
    )


def _replay(
    runner: Runner, flow: str, key: str, items: Sequence[tuple[dict[str, Any], str]]
) -> BatchRecord | None:
    """The batch an earlier request with this key recorded, if the inputs are the same;
    None if the key is new."""
    store = runner.store
    found = [store.find_by_key(flow, item_key) for _, item_key in items]
    beyond = store.find_by_key(flow, f"{key}#{len(items)}")
    if beyond is None and not any(found):
        return None
    runs = [run for run in found if run is not None]
    if beyond is not None or len(runs) != len(items):
        raise _conflict(key, "a batch with a different number of inputs")
    batch_id = runs[0].batch_id
    recorded = sum(store.count_by_status(batch_id=batch_id).values()) if batch_id else 0
    if any(run.batch_id != batch_id for run in runs) or recorded != len(runs):
        raise _conflict(key, "runs outside a single batch of this size")
    for run, (data, _) in zip(runs, items, strict=True):
        if run.request_hash != request_hash(flow, data):
            raise _conflict(key, f"a batch whose inputs differ (run {run.id})")
    return BatchRecord(batch_id=str(batch_id), runs=runs, replayed=True)


def record_batch(
    runner: Runner,
    flow_name: str,
    payloads: Sequence[dict[str, Any]],
    *,
    trigger: str = "batch",
    idempotency_key: str | None = None,
) -> BatchRecord:
    """Validate every input, then record the batch's runs in one transaction."""
    prepared = [
        runner.prepare(
            flow_name, payload, f"{idempotency_key}#{i}" if idempotency_key is not None else None
        )
        for i, payload in enumerate(payloads)
    ]
    flow = runner.flow(flow_name)
    version = runner.versions.current(flow).id
    for attempt in range(2):  # a second pass after losing a race to a concurrent request
        if idempotency_key is not None:
            items = [(data, str(key)) for _, data, key in prepared]
            earlier = _replay(runner, flow.name, idempotency_key, items)
            if earlier is not None:
                return earlier
        record = BatchRecord(batch_id=new_id("batch"))
        queued: list[QueuedRun] = []
        #: Items of this batch by their key: two inputs with one natural key are one run.
        in_batch: dict[str, QueuedRun] = {}
        for i, (_, data, key) in enumerate(prepared):
            digest = request_hash(flow.name, data)
            if key and key in in_batch:
                first = in_batch[key].run()
                runner.store.replayed(first, digest, key)  # refused if the inputs differ
                record.runs.append(first)
                record.duplicates.append(i)
                continue
            # A batch key's items were all looked up by `_replay`; only the flow's own keys
            # (e.g. a message id) may name a run recorded outside this batch.
            existing = (
                runner.store.find_by_key(flow.name, key)
                if key and idempotency_key is None
                else None
            )
            if existing is not None:
                runner.store.replayed(existing, digest, key or "")
                record.runs.append(existing)
                record.duplicates.append(i)
                continue
            item = QueuedRun.new(
                flow=flow.name,
                flow_version=version,
                input=data,
                trigger=trigger,
                idempotency_key=key,
                request_hash=digest,
                batch_id=record.batch_id,
            )
            queued.append(item)
            if key:
                in_batch[key] = item
            record.runs.append(item.run())
        try:
            runner.store.insert_queued(queued)
        except IntegrityError:
            if attempt:
                raise
            continue
        record.created = [item.run() for item in queued]
        return record
    raise AssertionError("unreachable")
