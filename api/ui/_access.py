"""Who is looking at the console, what their role allows, and the CSRF check on every form.

Roles are the API's (`bpa.auth.Role`), checked the same way: `Role.allows`. A server with no
API key is open to loopback clients only, exactly as the API is (api/deps.py); the console
then acts as `Principal.local()` and says so on every page. Looking a session's key up reads
the database, so `get_visitor` is a plain `def` (FastAPI runs it in its thread pool).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.datastructures import FormData

from api.deps import ServicesDep
from api.ui._session import COOKIE, ConsoleSession, SessionSigner
from bpa.auth import ApiKey, Principal, Role, is_loopback

__all__ = [
    "AdminDep",
    "ApproverDep",
    "ConsoleError",
    "FormDep",
    "OperatorDep",
    "SignInNeeded",
    "ViewerDep",
    "Visitor",
    "VisitorDep",
]


class ConsoleError(Exception):
    """A refusal shown as a console page with this status."""

    def __init__(self, status: int, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.title = title


class SignInNeeded(ConsoleError):
    def __init__(self) -> None:
        super().__init__(401, "sign in with an API key to use the console", title="Sign in")


@dataclass(frozen=True)
class Visitor:
    #: None until signed in (a server with keys); `Principal.local()` on an open server.
    principal: Principal | None
    session: ConsoleSession
    open_server: bool
    #: The session is new (or replaced): the response must set its cookie.
    fresh: bool

    def can(self, role: Role | str) -> bool:
        return self.principal is not None and self.principal.role.allows(Role(role))


def signer_of(request: Request) -> SessionSigner:
    signer: SessionSigner = request.app.state.console.signer
    return signer


def _principal(engine: Engine, key_id: str) -> Principal | None:
    """The key's owner while the key is active (named as `ApiKeyStore.verify` names them)."""
    with Session(engine) as session:
        record = session.get(ApiKey, key_id)
    if record is None or record.revoked_at is not None:
        return None
    return Principal(name=record.name or f"key {record.id}", role=record.role, key_id=record.id)


def get_visitor(request: Request, services: ServicesDep) -> Visitor:
    found = signer_of(request).loads(request.cookies.get(COOKIE))
    session = found or ConsoleSession.anonymous()
    fresh = found is None
    if not services.keys.any_active():
        client = request.client.host if request.client else None
        if not is_loopback(client):
            raise ConsoleError(
                403,
                "this server has no API keys, so it serves loopback clients only; an admin "
                "can create keys with `bpa keys create --role ...`",
            )
        return Visitor(Principal.local(), session, open_server=True, fresh=fresh)
    principal = _principal(services.keys.engine, session.key_id) if session.key_id else None
    if session.key_id and principal is None:  # revoked since sign-in
        session, fresh = ConsoleSession.anonymous(), True
    return Visitor(principal, session, open_server=False, fresh=fresh)


VisitorDep = Annotated[Visitor, Depends(get_visitor)]


def require(role: Role) -> Callable[[Visitor], Awaitable[Visitor]]:
    async def check(visitor: VisitorDep) -> Visitor:
        if visitor.principal is None:
            raise SignInNeeded()
        if not visitor.can(role):
            raise ConsoleError(
                403,
                f"this needs the {role.value} role (or higher); {visitor.principal.name} has "
                f"{visitor.principal.role.value}",
                title="Not allowed",
            )
        return visitor

    return check


ViewerDep = Annotated[Visitor, Depends(require(Role.viewer))]
OperatorDep = Annotated[Visitor, Depends(require(Role.operator))]
ApproverDep = Annotated[Visitor, Depends(require(Role.approver))]
AdminDep = Annotated[Visitor, Depends(require(Role.admin))]


async def checked_form(request: Request, visitor: VisitorDep) -> FormData:
    """The posted form, once its CSRF token (field `csrf_token`, or header `X-CSRF-Token`)
    matched the session's."""
    form = await request.form()
    token = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not visitor.session.accepts(token if isinstance(token, str) else None):
        raise ConsoleError(
            403,
            "the form's security token is missing or out of date; reload the page and try again",
            title="Form refused",
        )
    for name, value in form.multi_items():  # the API's rule (api/text_guard.py), for forms
        if isinstance(value, str) and "\x00" in value:
            raise ConsoleError(422, f"the field {name!r} contains a NUL character; remove it")
    return form


FormDep = Annotated[FormData, Depends(checked_form)]
