"""The installed connectors: their kinds, actions and request schemas, and their health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import ServicesDep, ViewerDep
from api.problems import ApiProblem, problem_responses
from api.schemas import ConnectorHealth, ConnectorPublic

__all__ = ["router"]

router = APIRouter(prefix="/connectors", tags=["connectors"])


@router.get(
    "",
    response_model=list[ConnectorPublic],
    summary="Installed connectors",
    responses=problem_responses(401, 403),
)
async def list_connectors(services: ServicesDep, _viewer: ViewerDep) -> list[ConnectorPublic]:
    """Each action says whether it changes data and how that is undone."""
    suite = services.suite
    result = []
    for name, info in sorted(suite.connector_infos.items()):
        problems = list(info.problems)
        started = suite.connector_problems.get(name)
        if started and started not in problems:
            problems.append(started)
        result.append(
            ConnectorPublic(
                name=name,
                kind=info.kind,
                ok=not problems,
                problems=problems,
                actions=[spec.describe() for spec in (info.actions or {}).values()],
            )
        )
    return result


@router.get(
    "/{name}/health",
    response_model=ConnectorHealth,
    summary="Check one connector",
    responses=problem_responses(401, 403, 404, 422),
)
async def connector_health(
    name: Annotated[str, Path(description="Connector name")],
    services: ServicesDep,
    _viewer: ViewerDep,
) -> ConnectorHealth:
    """Calls the connector's health check; `ok: false` with the reason when it fails."""
    suite = services.suite
    if name not in suite.connector_infos and name not in suite.connectors:
        known = ", ".join(sorted(suite.connector_infos)) or "none"
        raise ApiProblem(
            404,
            "connector-not-found",
            f"no connector named {name!r}; installed connectors: {known}",
        )
    if name not in suite.connectors:
        problem = suite.connector_problems.get(name) or "not loadable"
        return ConnectorHealth(name=name, ok=False, problem=problem)
    try:
        details = await suite.connectors[name].health()
    except Exception as exc:  # a failing check is the answer, not an API error
        return ConnectorHealth(name=name, ok=False, problem=suite.redactor.error(exc))
    return ConnectorHealth(name=name, ok=True, details=dict(details))
