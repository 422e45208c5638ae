"""The installed flows: what each takes, returns and asks, and its graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import ServicesDep, ViewerDep
from api.inputs import accepts_document
from api.problems import ApiProblem, problem_responses
from api.schemas import FlowDetail, FlowPublic
from bpa.flows import Flow, FlowInfo
from bpa.review import ReviewDecision
from bpa.runs.runner import UnknownFlow

__all__ = ["router"]

router = APIRouter(prefix="/flows", tags=["flows"])


def _public(info: FlowInfo) -> FlowPublic:
    flow = info.flow
    if flow is None:
        return FlowPublic(
            name=info.name,
            version=None,
            description=None,
            connectors=[],
            accepts_document=False,
            input_suffixes=[],
            problem=info.problem,
        )
    return FlowPublic(
        name=flow.name,
        version=flow.version,
        description=flow.description,
        connectors=list(flow.connectors),
        accepts_document=accepts_document(flow),
        input_suffixes=list(flow.input_suffixes),
        problem=None,
    )


@router.get(
    "",
    response_model=list[FlowPublic],
    summary="Installed flows",
    responses=problem_responses(401, 403),
)
async def list_flows(services: ServicesDep, _viewer: ViewerDep) -> list[FlowPublic]:
    """Every flow a package registers, with the reason when one failed to load."""
    infos = dict(services.suite.flow_infos)
    for name, flow in services.suite.flows.items():
        infos.setdefault(name, FlowInfo(name, flow))
    return [_public(info) for _, info in sorted(infos.items())]


def _mermaid(services: ServicesDep, flow: Flow) -> str:
    graphs = services.graphs
    if flow.name not in graphs:
        graphs[flow.name] = services.suite.runner.graph(flow.name).get_graph().draw_mermaid()
    return graphs[flow.name]


@router.get(
    "/{flow}",
    response_model=FlowDetail,
    summary="One flow, with its schemas and graph",
    responses=problem_responses(401, 403, 404, 422),
)
def get_flow(
    flow: Annotated[str, Path(description="Flow name")], services: ServicesDep, _viewer: ViewerDep
) -> FlowDetail:
    """`input_schema` is what a run takes, `decision_schema` what a human answers when it
    waits, `graph_mermaid` its nodes and edges (paste into any Mermaid viewer).

    A plain `def`: drawing a graph the first time compiles it, off the event loop."""
    info = services.suite.flow_infos.get(flow)
    if flow not in services.suite.flows and info is not None and info.problem:
        raise ApiProblem(
            404, "flow-unusable", f"flow {flow!r} is installed but failed to load: {info.problem}"
        )
    try:
        spec = services.suite.runner.flow(flow)
    except UnknownFlow as exc:
        raise ApiProblem(404, "flow-not-found", str(exc)) from None
    decision = spec.decision_model or ReviewDecision
    return FlowDetail(
        **_public(FlowInfo(spec.name, spec)).model_dump(),
        input_schema=spec.input_model.model_json_schema(),
        output_schema=spec.output_model.model_json_schema() if spec.output_model else None,
        decision_schema=decision.model_json_schema(),
        graph_mermaid=_mermaid(services, spec),
    )
