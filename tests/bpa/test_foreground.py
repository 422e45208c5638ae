"""Run execution gives way to the requests a process serves (bpa/foreground.py)."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from api.foreground import ForegroundRequests
from bpa.foreground import Foreground, GivingWayLoop


def timed_hold(foreground: Foreground) -> float:
    began = time.monotonic()
    foreground.hold()
    return time.monotonic() - began


def test_no_request_no_pause() -> None:
    foreground = Foreground(linger_s=0.0)
    assert timed_hold(foreground) < 0.005
    assert foreground.pauses == 0


def test_pauses_while_a_request_is_handled_and_resumes_when_it_ends() -> None:
    foreground = Foreground(max_pause_s=5.0, linger_s=0.0)
    foreground.enter()
    threading.Timer(0.1, foreground.leave).start()
    paused = timed_hold(foreground)
    assert 0.08 < paused < 2.0
    assert foreground.pauses == 1 and foreground.paused_s == pytest.approx(paused, abs=0.02)


def test_waits_for_the_linger_after_the_last_request() -> None:
    foreground = Foreground(max_pause_s=5.0, linger_s=0.1)
    foreground.enter()
    foreground.leave()  # just answered: the client's next request is probably on its way
    assert 0.05 < timed_hold(foreground) < 1.0


def test_sustained_load_pauses_at_most_max_pause_then_runs_its_slice() -> None:
    foreground = Foreground(slice_s=0.2, max_pause_s=0.1, linger_s=0.0)
    foreground.enter()  # never leaves
    assert 0.08 < timed_hold(foreground) < 1.0
    assert timed_hold(foreground) < 0.02  # within its slice: no second pause
    time.sleep(0.2)
    assert timed_hold(foreground) > 0.08


def test_a_request_waiting_for_a_run_steps_aside() -> None:
    foreground = Foreground(max_pause_s=5.0, linger_s=0.0)
    foreground.enter()
    with foreground.aside():
        assert foreground.active == 0
        assert timed_hold(foreground) < 0.05
    assert foreground.active == 1


def test_engine_loop_runs_no_callback_while_a_request_is_handled() -> None:
    foreground = Foreground(slice_s=0.0, max_pause_s=5.0, linger_s=0.0)
    ran: list[float] = []

    async def step() -> None:
        await asyncio.sleep(0)  # the continuation is a new callback: it holds first
        ran.append(time.monotonic())

    foreground.enter()
    released = time.monotonic() + 0.15
    threading.Timer(0.15, foreground.leave).start()
    loop = GivingWayLoop(foreground)
    try:
        loop.run_until_complete(step())
    finally:
        loop.close()
    assert ran and ran[0] >= released - 0.01
    assert foreground.pauses >= 1


async def test_middleware_counts_requests_while_they_are_handled() -> None:
    foreground = Foreground()
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(foreground.active)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = httpx.ASGITransport(app=ForegroundRequests(app, foreground))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/")).status_code == 204
    assert seen == [1]
    assert foreground.active == 0
