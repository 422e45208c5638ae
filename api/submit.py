"""Starting runs from the API: record them, then tell the workers. The one way to do it.

Recording validates the input and writes a queued run, or queues the waiting run the input
answers (`bpa.runs.replies.submit`, what `Runner.submit` does too), or a whole batch in
one transaction (`record_batch`); the dispatcher then tells workers (with a broker: one
message per run; without one, workers find queued runs by polling). Both are blocking I/O,
done off the event loop. A lost dispatch loses nothing: the run stays queued in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.problems import ApiProblem
from api.services import Services
from bpa.auth import Principal
from bpa.runs import replies
from bpa.runs.batches import BatchRecord, record_batch

__all__ = ["check_start_role", "submit_batch", "submit_run"]


def check_start_role(services: Services, flow: str, by: Principal) -> None:
    """403 unless `by`'s role may start `flow` (`Flow.start_role`): the generic routes must
    not open a flow its own route keeps for a higher role."""
    needed = services.suite.runner.flow(flow).start_role
    if not by.role.allows(needed):
        raise ApiProblem(
            403, "forbidden", f"starting {flow!r} needs the {needed.value} role (yours: {by.role})"
        )


async def submit_run(
    services: Services,
    flow: str,
    payload: dict[str, Any],
    *,
    by: Principal,
    idempotency_key: str | None = None,
) -> replies.Submission:
    """The new queued run, or the one this key (or the flow's own key for this input)
    started before, or the waiting run this input answers (`resumed`), queued again."""
    check_start_role(services, flow, by)

    def submit() -> replies.Submission:
        submitted = replies.submit(
            services.suite.runner, flow, payload, trigger="api", idempotency_key=idempotency_key
        )
        if submitted.to_execute:
            services.dispatcher.dispatch([submitted.run.id])
        return submitted

    return await run_in_threadpool(submit)


async def submit_batch(
    services: Services,
    flow: str,
    payloads: Sequence[dict[str, Any]],
    *,
    by: Principal,
    idempotency_key: str | None = None,
) -> BatchRecord:
    """Every input validated, then the batch's runs recorded all or nothing."""
    check_start_role(services, flow, by)

    def submit() -> BatchRecord:
        record = record_batch(
            services.suite.runner, flow, payloads, idempotency_key=idempotency_key
        )
        if record.created:
            services.dispatcher.dispatch([run.id for run in record.created])
        return record

    return await run_in_threadpool(submit)
