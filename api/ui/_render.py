"""Pages: the console's Jinja2 environment, and the headers every console response carries.

Templates autoescape; charts and graphs are SVG built by the console itself (`Markup`).
The Content-Security-Policy allows this origin only and no inline script or style, so
whatever a document, a customer's message or a model wrote cannot run in an operator's
browser.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.ui._access import Visitor, signer_of

__all__ = ["SECURITY_HEADERS", "Pages", "redirect"]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-src 'self'; object-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_JSON_CHARS = 20_000


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def when(value: dt.datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return _as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'3 min', '2 h 5 min', '4 d 3 h': how long ago."""
    if value is None:
        return "—"
    seconds = max(0, int(((now or dt.datetime.now(dt.UTC)) - _as_utc(value)).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def pretty(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)
    if len(text) > _JSON_CHARS:
        text = text[:_JSON_CHARS] + f"\n… ({len(text) - _JSON_CHARS:,} more characters)"
    return text


def duration(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def query(params: dict[str, Any], **changes: Any) -> str:
    """A query string from `params` with `changes`, leaving out empty values."""
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


class Pages:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("api.ui", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(when=when, age=age, pretty=pretty, duration=duration)
        self.env.globals.update(query=query)

    def render(
        self,
        request: Request,
        visitor: Visitor | None,
        name: str,
        *,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        html = self.env.get_template(name).render(
            visitor=visitor,
            csrf=visitor.session.csrf if visitor else "",
            path=request.url.path,
            **context,
        )
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        if visitor is not None:
            keep_session(request, visitor, response)
        return response


def keep_session(request: Request, visitor: Visitor, response: Response) -> None:
    """Set the session cookie when it is new or replaced."""
    if visitor.fresh:
        signer_of(request).attach(response, visitor.session, secure=request.url.scheme == "https")


def redirect(request: Request, visitor: Visitor | None, to: str) -> Response:
    """303 to `to` (a console path); for htmx, its own redirect header."""
    if request.headers.get("hx-request") == "true":
        response: Response = Response(status_code=204, headers={"HX-Redirect": to})
    else:
        response = RedirectResponse(to, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    if visitor is not None:
        keep_session(request, visitor, response)
    return response
