"""Requests first: background run execution gives way to the requests a process is serving.

`bpa serve` executes runs on an engine thread in the same process as the HTTP API. Both need
the interpreter lock, and Python lets a busy thread keep it for milliseconds at a time, so
under load every request would queue behind flow computation. A `Foreground` counts the
requests being handled (the API's middleware calls `enter`/`leave`). The engine's event loop
runs on a `GivingWaySelector`: each time the loop is about to poll for I/O (between any two
steps of any run), it calls `hold()`, which, when requests are being handled and the engine
has had its slice, blocks the engine thread until they are done, or for `max_pause_s` at
most, so runs still move on under sustained load. A request waiting for a run
(`/runs/wait`, a stream) steps `aside()` while it waits: it needs the engine to go on.

Only a scheduling preference: a run is recorded before its request is answered, and a paused
run keeps its lease as usual (the lease lasts far longer than a pause).
"""

from __future__ import annotations

import asyncio
import selectors
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Foreground", "GivingWaySelector", "engine_loop_factory"]


class Foreground:
    """Shared by the HTTP thread (enter, leave, aside) and the engine thread (hold).

    Only the HTTP thread changes the count; `_idle` is set whenever it is zero.
    """

    def __init__(
        self, *, slice_s: float = 0.002, max_pause_s: float = 0.05, linger_s: float = 0.002
    ) -> None:
        """The engine runs at least `slice_s` between pauses and pauses at most `max_pause_s`
        at a time: under sustained load it keeps about slice / (slice + pause) of a core.
        It also waits until no request has finished for `linger_s`: clients under load send
        their next request right after an answer, before this process has counted it."""
        self.slice_s = slice_s
        self.max_pause_s = max_pause_s
        self.linger_s = linger_s
        self.active = 0
        self._last_leave = 0.0
        self._idle = threading.Event()
        self._idle.set()
        self._resumed = float("-inf")  # no slice owed before the first pause
        #: Pauses taken, and seconds paused in all (for /metrics and tests).
        self.pauses = 0
        self.paused_s = 0.0

    # -- the HTTP side ----------------------------------------------------------------------
    def enter(self) -> None:
        self.active += 1
        if self.active == 1:
            self._idle.clear()

    def leave(self) -> None:
        self._last_leave = time.monotonic()
        self.active -= 1
        if self.active == 0:
            self._idle.set()

    @contextmanager
    def aside(self) -> Iterator[None]:
        """While a request waits for the engine, it does not hold the engine back."""
        self.leave()
        try:
            yield
        finally:
            self.enter()

    # -- the engine side --------------------------------------------------------------------
    def _busy(self, now: float) -> bool:
        return self.active > 0 or now - self._last_leave < self.linger_s

    def hold(self) -> None:
        """Block (without the interpreter lock) while requests are being handled, once the
        engine has had its slice."""
        began = now = time.monotonic()
        if now - self._resumed < self.slice_s or not self._busy(now):
            return
        deadline = now + self.max_pause_s
        while now < deadline and self._busy(now):
            if self.active > 0:
                self._idle.wait(deadline - now)
            else:
                time.sleep(min(self._last_leave + self.linger_s, deadline) - now)
            now = time.monotonic()
        self.pauses += 1
        self.paused_s += now - began
        self._resumed = now


class GivingWaySelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The platform's selector, holding for the foreground before each poll."""

    def __init__(self, foreground: Foreground) -> None:
        super().__init__()
        self.foreground = foreground

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.foreground.hold()
        return super().select(timeout)


class GivingWayLoop(asyncio.SelectorEventLoop):
    """An event loop that holds for the foreground before every callback it runs (each step
    of each task), not only once per round: a round may run steps of every active run."""

    def __init__(self, foreground: Foreground) -> None:
        super().__init__(GivingWaySelector(foreground))
        self.foreground = foreground

    def call_soon(  # type: ignore[override]
        self, callback: Callable[..., object], *args: object, context: Any = None
    ) -> asyncio.Handle:
        hold = self.foreground.hold

        def held(*args: object) -> None:
            hold()
            callback(*args)

        return super().call_soon(held, *args, context=context)


def engine_loop_factory(foreground: Foreground) -> Callable[[], asyncio.AbstractEventLoop]:
    """An event loop factory (for `asyncio.Runner`) whose loop gives way to `foreground`."""
    return lambda: GivingWayLoop(foreground)
