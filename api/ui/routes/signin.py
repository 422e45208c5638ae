"""Signing in with an API key (exchanged for a session cookie) and signing out."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import ServicesDep
from api.ui._access import FormDep, VisitorDep
from api.ui._console import console_of
from api.ui._render import redirect
from api.ui._session import ConsoleSession

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _local(target: str | None) -> str:
    """Where to go after signing in: a console path, never another site."""
    if not target or not target.startswith("/ui") or "//" in target or "\\" in target:
        return "/ui"
    return target


@router.get("/signin")
def signin_page(
    request: Request,
    visitor: VisitorDep,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    if visitor.principal is not None:
        return redirect(request, visitor, _local(next))
    return console_of(request).pages.render(
        request, visitor, "signin.html", next=_local(next), error=None
    )


@router.post("/signin")
def signin(request: Request, visitor: VisitorDep, form: FormDep, services: ServicesDep) -> Response:
    target = _local(str(form.get("next") or ""))
    if visitor.open_server:
        return redirect(request, visitor, target)
    presented = str(form.get("key") or "").strip()
    principal = services.keys.verify(presented) if presented else None
    if principal is None or principal.key_id is None:
        return console_of(request).pages.render(
            request,
            visitor,
            "signin.html",
            status=401,
            next=target,
            error="That key is unknown, revoked or mistyped. Paste the whole key "
            "(bpa_…); an admin can create one with `bpa keys create`.",
        )
    session = visitor.session.signed_in(principal.key_id)
    return redirect(request, replace(visitor, session=session, fresh=True), target)


@router.post("/signout")
def signout(request: Request, visitor: VisitorDep, form: FormDep) -> Response:
    anonymous = replace(visitor, session=ConsoleSession.anonymous(), fresh=True)
    return redirect(request, anonymous, "/ui/signin")
