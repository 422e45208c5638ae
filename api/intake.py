"""Recording the runs the API starts, with group commit.

Under load, many requests to start a run arrive in the same turn of the HTTP event loop.
Each would otherwise pay for its own transaction (on SQLite: a write lock and a commit),
which is most of the cost of the request. `RunIntake` records all runs started in one turn in
one transaction, then answers each request, and wakes the executor once. A run whose start
carries an idempotency key (given, or the flow's own) takes the one-by-one path, which looks
for the run that key already started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bpa.runs.runner import Runner
from bpa.runs.store import QueuedRun, request_hash
from bpa.runs.tables import Run, RunStatus

__all__ = ["RunIntake"]


class RunIntake:
    """Used on the HTTP event loop only. `notify` wakes the executor (new runs are queued)."""

    def __init__(self, runner: Runner, notify: Callable[[], None]) -> None:
        self.runner = runner
        self.notify = notify
        self._pending: list[tuple[QueuedRun, asyncio.Future[None]]] = []
        #: Transactions written, and runs recorded in them (group commit at work).
        self.commits = 0
        self.recorded = 0

    async def submit(
        self,
        flow_name: str,
        payload: dict[str, Any],
        *,
        trigger: str,
        idempotency_key: str | None = None,
        batch_id: str | None = None,
    ) -> tuple[Run, bool]:
        """Validate the input and record a queued run; `(run, created)` as `Runner.submit`."""
        flow, data, key = self.runner.prepare(flow_name, payload, idempotency_key)
        if key is not None:
            run, created = self.runner.store.create_run(
                flow=flow.name,
                flow_version=flow.version,
                input=data,
                trigger=trigger,
                idempotency_key=key,
                batch_id=batch_id,
            )
            if created or run.status == RunStatus.queued:
                self.notify()
            return run, created
        queued = QueuedRun.new(
            flow=flow.name,
            flow_version=flow.version,
            input=data,
            trigger=trigger,
            request_hash=request_hash(flow.name, data),
            batch_id=batch_id,
        )
        loop = asyncio.get_running_loop()
        recorded: asyncio.Future[None] = loop.create_future()
        self._pending.append((queued, recorded))
        if len(self._pending) == 1:  # the first of this turn: commit once the turn is over
            loop.call_soon(self._commit)
        await recorded
        return queued.run(), True

    def _commit(self) -> None:
        group, self._pending = self._pending, []
        try:
            self.runner.store.insert_queued([queued for queued, _ in group])
        except Exception as exc:  # nothing of the group was recorded; each request says so
            for _, recorded in group:
                if not recorded.done():
                    recorded.set_exception(exc)
            return
        self.commits += 1
        self.recorded += len(group)
        for _, recorded in group:
            if not recorded.done():
                recorded.set_result(None)
        self.notify()
