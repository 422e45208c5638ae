"""What the console keeps for the app's lifetime: its pages, its session signer (made on
first use: the secret may be read from, or written to, the home folder), and the flows'
graph layouts (drawn once per flow)."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import Request

from api.ui._graph import FlowLayout, lay_out
from api.ui._render import Pages
from api.ui._session import SessionSigner, console_secret
from bpa.config import Settings
from bpa.runs.runner import Runner

__all__ = ["Console", "console_of"]


class Console:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pages = Pages()
        self._signer: SessionSigner | None = None
        self._layouts: dict[str, FlowLayout] = {}
        self._lock = threading.Lock()

    @property
    def signer(self) -> SessionSigner:
        with self._lock:
            if self._signer is None:
                self._signer = SessionSigner(console_secret(self.settings))
            return self._signer

    def layout(self, runner: Runner, flow: str) -> FlowLayout:
        """The flow's graph laid out; compiling it the first time is blocking work (call
        this off the event loop). Building the graph runs none of the flow's nodes."""
        with self._lock:
            found = self._layouts.get(flow)
        if found is None:
            graph: Any = runner.graph(flow).get_graph()
            found = lay_out(graph)
            with self._lock:
                self._layouts[flow] = found
        return found


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console
