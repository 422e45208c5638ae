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
from bpa.roles import Role
from bpa.runs import replies
from bpa.runs.batches import BatchRecord, record_batch

__all__ = [
    "check_flow_role",
    "check_start_role",
    "flow_role_problem",
    "submit_batch",
    "submit_run",
]


def _signed(
    services: Services, flow: str, payload: dict[str, Any], by: Principal
) -> dict[str, Any]:
    """The payload with the flow's `caller_field` set to the caller: the API says who asked,
    never the body."""
    field = services.suite.runner.flow(flow).caller_field
    return {**payload, field: by.name} if field else payload


def flow_role_problem(
    services: Services, flow: str, by: Principal | None, doing: str = "starting"
) -> str | None:
    """Why `by` may not start (or cancel, or roll back) a run of `flow`: its role is below
    the flow's `start_role`; None when it may. A flow no longer installed asks nothing more
    than the route does."""
    spec = services.suite.flows.get(flow)
    needed = spec.start_role if spec is not None else Role.viewer
    role = by.role if by is not None else Role.viewer
    if role.allows(needed):
        return None
    return f"{doing} a run of {flow!r} needs the {needed.value} role (yours: {role.value})"


def check_flow_role(services: Services, flow: str, by: Principal, doing: str = "starting") -> None:
    """403 unless `by`'s role may start `flow` (`Flow.start_role`), or cancel or roll back
    its runs: the generic routes must not open a flow its own route keeps for a higher
    role."""
    if (problem := flow_role_problem(services, flow, by, doing)) is not None:
        raise ApiProblem(403, "forbidden", problem)


def check_start_role(services: Services, flow: str, by: Principal) -> None:
    """`check_flow_role` for starting a run; an unknown flow is a 404 before it is a 403."""
    services.suite.runner.flow(flow)
    check_flow_role(services, flow, by)


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
    payload = _signed(services, flow, payload, by)

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
    payloads = [_signed(services, flow, payload, by) for payload in payloads]

    def submit() -> BatchRecord:
        record = record_batch(
            services.suite.runner, flow, payloads, idempotency_key=idempotency_key
        )
        if record.created:
            services.dispatcher.dispatch([run.id for run in record.created])
        return record

    return await run_in_threadpool(submit)
