"""API keys, for admins: create (the secret is shown once), list, revoke. Plain `def` routes:
the key store is synchronous."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import AdminDep, ServicesDep
from api.problems import problem_responses
from api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic

__all__ = ["router"]

router = APIRouter(prefix="/keys", tags=["keys"])


@router.get(
    "",
    response_model=list[ApiKeyPublic],
    summary="API keys (never their secrets)",
    responses=problem_responses(401, 403, 422),
)
def list_keys(
    services: ServicesDep,
    _admin: AdminDep,
    include_revoked: Annotated[bool, Query()] = False,
) -> list[ApiKeyPublic]:
    return [ApiKeyPublic.of(k) for k in services.keys.list(include_revoked=include_revoked)]


@router.post(
    "",
    response_model=ApiKeyCreated,
    status_code=201,
    summary="Create an API key",
    responses=problem_responses(401, 403, 422),
)
def create_key(body: ApiKeyCreate, services: ServicesDep, _admin: AdminDep) -> ApiKeyCreated:
    """The response holds the key itself; it is stored hashed and cannot be shown again."""
    record, secret = services.keys.create(body.role, body.name)
    return ApiKeyCreated(**ApiKeyPublic.of(record).model_dump(), key=secret)


@router.delete(
    "/{key_id}",
    response_model=ApiKeyPublic,
    summary="Revoke an API key",
    responses=problem_responses(401, 403, 404, 422),
)
def revoke_key(
    key_id: Annotated[str, Path(max_length=100)], services: ServicesDep, _admin: AdminDep
) -> ApiKeyPublic:
    return ApiKeyPublic.of(services.keys.revoke(key_id))
