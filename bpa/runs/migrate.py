"""Moving a waiting run to its flow's installed version (`bpa runs migrate`): explicit, and
recorded in its audit trail as `run_migrated` (from, to, who, where it continues).

The run keeps its question and its LangGraph checkpoint. When the node it waits at exists
in the installed graph, nothing else changes: the answer resumes that node on the new
graph. When that node is gone, the person migrating names the node that takes its place
(`at`): the checkpoint is moved there (a LangGraph state update that makes `at` the next
step) and the open question is attached to it, so the answer resumes `at`, whose
`interrupt()` receives it. State keys the new version no longer has are dropped by
LangGraph; the event lists them. Migrating never executes a node.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from bpa.db import table_of
from bpa.errors import RunStateError
from bpa.runs.leases import LeaseLost
from bpa.runs.tables import Approval, Run, RunEvent, RunStatus

if TYPE_CHECKING:
    from bpa.flows import Flow
    from bpa.runs.runner import Runner

__all__ = ["Migration", "migrate_run"]

_APPROVALS = table_of(Approval)
#: A node added to the graph only to make the state update that moves a checkpoint: it has
#: no edges, so the update triggers nothing but the goto.
_MOVER = "bpa_migrate_run"
#: LangGraph's channel for a task's pending interrupt (part of its stored checkpoint format).
_INTERRUPT = "__interrupt__"


@dataclass(frozen=True)
class Migration:
    run: Run
    from_version: str
    to_version: str
    #: Where the run waited, and where it continues (the same unless it was moved).
    node: str | None
    at: str | None
    #: State keys the installed version has no channel for (LangGraph drops their values).
    dropped_state: list[str]

    @property
    def changed(self) -> bool:
        return self.from_version != self.to_version or self.node != self.at

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run.id,
            "flow": self.run.flow,
            "status": str(self.run.status),
            "from_version": self.from_version,
            "to_version": self.to_version,
            "node": self.node,
            "at": self.at,
            "dropped_state": self.dropped_state,
            "migrated": self.changed,
        }


async def migrate_run(runner: Runner, run_id: str, *, by: str, at: str | None = None) -> Migration:
    """Move the waiting run to the installed version of its flow; `at` names the node it
    continues at when the one it waits at no longer exists (or to send it elsewhere).
    `RunStateError` when the run does not wait for a human or `at` is missing or unknown.
    A run already on the installed version, not moved, is left as it is."""
    store = runner.store
    run = store.get(run_id)
    approval = store.pending_approval(run_id) if run.status == RunStatus.waiting else None
    if approval is None and run.status == RunStatus.waiting:
        raise RunStateError(
            f"run {run_id} waits for a connector, not a human: it resumes by itself on the "
            "installed version; only a run waiting for a human is migrated"
        )
    if approval is None:
        raise RunStateError(f"run {run_id} is {run.status}: only a waiting run is migrated")
    flow = runner.flow(run.flow)
    current = runner.versions.current(flow)
    node = approval.node
    target = at or node
    if target is None or target not in current.nodes:
        nodes = ", ".join(current.nodes)
        if at is not None:
            raise RunStateError(f"flow {run.flow!r} has no node {at!r}; its nodes: {nodes}")
        raise RunStateError(
            f"run {run_id} waits at node {node!r}, which version {current.id} of flow "
            f"{run.flow!r} does not have: name the node it continues at, "
            f"`bpa runs migrate {run_id} --at NODE` (nodes: {nodes})"
        )
    recorded = runner.versions.recorded(run.flow, run.flow_version) or {}
    dropped = sorted(set(recorded.get("state", [])) - set(current.manifest.get("state", [])))
    unchanged = Migration(run, run.flow_version, current.id, node, target, dropped)
    if not unchanged.changed:
        return unchanged
    waiting = (RunStatus.waiting,)
    if not store.acquire(run_id, runner.owner, lease_s=runner.lease_s, statuses=waiting):
        raise RunStateError(f"run {run_id} is being resumed elsewhere or no longer waits")
    try:
        if target != node:
            await _move_checkpoint(runner, flow, run_id, approval, target)
        event = RunEvent(
            run_id=run_id,
            kind="run_migrated",
            node=target,
            payload={
                "from_version": run.flow_version,
                "to_version": current.id,
                "by": by,
                "node": node,
                "at": target,
                "dropped_state": dropped,
            },
        )
        moved = store.update(
            run_id,
            owner=runner.owner,
            flow_version=current.id,
            claimed_by=None,
            lease_until=None,
            events=[event],
        )
    except BaseException:
        _release(runner, run_id)
        raise
    return Migration(moved, run.flow_version, current.id, node, target, dropped)


def _release(runner: Runner, run_id: str) -> None:
    with contextlib.suppress(LeaseLost):  # cancelled meanwhile: nothing of ours to release
        runner.store.update(run_id, owner=runner.owner, claimed_by=None, lease_until=None)


async def _move_checkpoint(
    runner: Runner, flow: Flow, run_id: str, approval: Approval, target: str
) -> None:
    """Make `target` the checkpoint's next step, holding the open question's interrupt, and
    attach the question to `target`."""
    from langchain_core.runnables import RunnableConfig
    from langgraph.types import Command, Interrupt

    builder = flow.build_graph()
    builder.add_node(_MOVER, _nothing)
    mover = builder.compile(checkpointer=runner.checkpointer)
    config = RunnableConfig(configurable={"thread_id": run_id})
    moved = await mover.aupdate_state(config, Command(goto=target), as_node=_MOVER)
    snapshot = await runner.graph(flow.name).aget_state(config)
    task = next((t for t in snapshot.tasks if t.name == target), None)
    if task is None:  # LangGraph did not schedule it: leave the run as it was found
        raise RunStateError(f"could not move run {run_id} to node {target!r}")
    pending = Interrupt(value=approval.question, id=approval.interrupt_id)
    await runner.checkpointer.aput_writes(moved, [(_INTERRUPT, [pending])], task.id)
    with runner.store.engine.begin() as conn:
        conn.execute(update(_APPROVALS).where(_APPROVALS.c.id == approval.id).values(node=target))


def _nothing(state: Any) -> dict[str, Any]:
    return {}
