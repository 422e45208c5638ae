"""Dependencies routes declare: the suite, settings, the caller and the role a route needs.

Keys come as `Authorization: Bearer <key>` or `X-API-Key: <key>`. A server without any
key is open, but only to loopback clients (`bpa serve` refuses other addresses then too).
Looking a key up reads the database, so `get_principal` is a plain `def` (FastAPI runs it
in its thread pool, off the event loop).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.problems import ApiProblem
from api.services import Services
from bpa.auth import Principal, Role, is_loopback
from bpa.config import Settings
from bpa.suite import Suite

__all__ = [
    "AdminDep",
    "ApproverDep",
    "IdempotencyKeyDep",
    "OperatorDep",
    "PrincipalDep",
    "ServicesDep",
    "SettingsDep",
    "SuiteDep",
    "ViewerDep",
    "WaitTimeout",
]

_bearer = HTTPBearer(auto_error=False, description="An API key from `bpa keys create`")
_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from `bpa keys create`"
)


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_suite(services: ServicesDep) -> Suite:
    return services.suite


async def get_settings(services: ServicesDep) -> Settings:
    return services.settings


SuiteDep = Annotated[Suite, Depends(get_suite)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="bpa"'}


def get_principal(
    request: Request,
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header)],
) -> Principal:
    presented = bearer.credentials if bearer is not None else header_key
    if presented:
        principal = services.keys.verify(presented)
        if principal is None:
            raise ApiProblem(
                401,
                "api-key-invalid",
                "the API key is malformed, unknown or revoked; ask an admin for a key "
                "(`bpa keys create --role ...`)",
                headers=_CHALLENGE,
            )
        return principal
    if services.keys.any_active():
        raise ApiProblem(
            401,
            "api-key-missing",
            "this server requires an API key: send `Authorization: Bearer <key>` or "
            "`X-API-Key: <key>`",
            headers=_CHALLENGE,
        )
    client = request.client.host if request.client else None
    if not is_loopback(client):
        raise ApiProblem(
            403,
            "open-server-remote-client",
            "this server has no API keys, so it serves loopback clients only; an admin can "
            "create keys with `bpa keys create --role ...`",
        )
    return Principal.local()


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        if not principal.role.allows(role):
            raise ApiProblem(
                403,
                "role-insufficient",
                f"this needs the {role.value} role (or higher); {principal.name} has "
                f"{principal.role.value}. Use a key with that role.",
                required_role=role.value,
                your_role=principal.role.value,
            )
        return principal

    return check


ViewerDep = Annotated[Principal, Depends(require(Role.viewer))]
OperatorDep = Annotated[Principal, Depends(require(Role.operator))]
ApproverDep = Annotated[Principal, Depends(require(Role.approver))]
AdminDep = Annotated[Principal, Depends(require(Role.admin))]

IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Same key and same body: the same run(s) again, not new ones. "
        "A reused key with a different body is refused (422).",
    ),
]

WaitTimeout = Annotated[
    float,
    Query(gt=0, le=3600, description="Seconds to wait for the run to finish or ask a question"),
]
