"""Forgetting what the invoice flow learned for a vendor, as a flow of its own
(`vendor_memory_forget`): a worker executes it like any run, and its trail says who forgot
what and holds the memory as it was (`vendor_memory_forgotten` event), which `bpa runs
show` displays. `bpa vendors forget` and `DELETE /vendors/{id}/memory` start it."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, ConfigDict, Field

from bpa.flows import Flow, one_step_graph
from bpa.roles import Role
from bpa.runs.context import RunContext
from flows.invoice_processing import memory

__all__ = ["ForgetInput", "flow"]


class ForgetInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vendor_id: str = Field(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    field: str | None = Field(
        default=None, max_length=40, pattern=r"^[a-z_]+$", description="One field; None: all"
    )
    by: str | None = Field(default=None, max_length=200, description="Who asked")


class ForgetState(TypedDict, total=False):
    vendor_id: str
    field: str | None
    by: str | None
    forgotten: list[str]


async def forget(state: ForgetState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Forgets the vendor's memory (or one field of it); writes `forgotten`, empty when
    nothing was remembered (or the engine keeps no memory)."""
    if runtime.store is None:
        return {"forgotten": []}
    vendor_id, field = state["vendor_id"], state.get("field")
    gone, before = await memory.forget_returning(runtime.store, vendor_id, field)
    if gone:
        runtime.context.audit.record(
            memory.FORGOTTEN, {"vendor_id": vendor_id, "forgotten": gone, "memory": before}
        )
    return {"forgotten": gone}


def build_graph() -> StateGraph[Any, Any, Any, Any]:
    return one_step_graph(ForgetState, ForgetInput, "forget", forget)


def make_output(state: dict[str, Any]) -> dict[str, Any]:
    return {"vendor_id": state.get("vendor_id"), "forgotten": list(state.get("forgotten") or [])}


flow = Flow(
    name=memory.FORGET_FLOW,
    version="1.0.0",
    description="Forgets what the invoice flow learned from corrections for a vendor.",
    build_graph=build_graph,
    input_model=ForgetInput,
    make_output=make_output,
    start_role=Role.approver,  # as `DELETE /vendors/{id}/memory`
    caller_field="by",
    durability="exit",  # forgetting twice forgets nothing more
)
