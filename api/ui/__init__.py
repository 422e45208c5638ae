"""The web console under /ui: server-rendered pages (Jinja2), enhanced by htmx, for the
people who supervise the flows. Every asset is served from this package (no CDN), and so are
Swagger UI's files for /docs.

Like the API, the console records and reads; flows execute in workers.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from api.ui._access import ConsoleError, SignInNeeded
from api.ui._console import Console, console_of
from api.ui._render import redirect
from api.ui.routes import router
from bpa.config import Settings

__all__ = ["install_console"]


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    if isinstance(exc, SignInNeeded) and request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(request, None, f"/ui/signin?next={quote(target, safe='/')}")
    return console_of(request).pages.render(
        request,
        None,
        "error.html",
        status=exc.status,
        title=exc.title or "Not possible",
        message=exc.message,
    )


def install_console(app: FastAPI, settings: Settings) -> None:
    """Serve the console at /ui (and Swagger UI at /docs, from local files)."""
    app.state.console = Console(settings)
    app.mount("/ui/static", StaticFiles(packages=[("api.ui", "static")]), name="ui-static")
    app.include_router(router)
    app.add_exception_handler(ConsoleError, _refused)
