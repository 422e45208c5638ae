"""/docs: Swagger UI from this package's files, so the API's documentation renders on a
network without Internet access (FastAPI's default loads it from a CDN)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_VENDOR = "/ui/static/vendor/swagger-ui"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    return get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} - API",
        swagger_js_url=f"{_VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{_VENDOR}/swagger-ui.css",
        swagger_favicon_url="/ui/static/favicon.svg",
    )
