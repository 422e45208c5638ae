"""The ASGI side of `bpa.foreground.Foreground`: every HTTP request counts as foreground work
while the app handles it (the runs this process executes give way to it)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from bpa.foreground import Foreground

__all__ = ["ForegroundRequests"]


class ForegroundRequests:
    def __init__(self, app: ASGIApp, foreground: Foreground) -> None:
        self.app = app
        self.foreground = foreground

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.foreground.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.foreground.leave()
