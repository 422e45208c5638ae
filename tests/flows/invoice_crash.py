"""A process that executes or resumes one invoice run and dies by SIGKILL at a chosen point.

Test code, not a product feature: the crash tests start `work` in a process of its own
(`spawn`), which arms one crash point and then drives the run like a server would:

- ``after:<node>``: the node's function has returned, and nothing of its step (state
  update, checkpoint, the step's buffered audit events) has been handled: the boundary
  between this node and the next, at its worst.
- ``calling:<action>``: the engine is calling the accounting action, which has not acted.
- ``effect:<action>``: the accounting system committed the action (and its idempotency
  ledger row) and the engine has not yet seen the result.

Processes come from a fork server that has imported the engine and the flow once, so each
crash costs the suite a fork instead of a Python start-up.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import signal
from dataclasses import dataclass
from typing import Any

from bpa.config import Settings
from bpa.suite import Suite
from flows.invoice_processing import nodes

__all__ = ["Crash", "spawn"]

_PROCESSES = multiprocessing.get_context("forkserver")
# Installed packages only: the fork server does not see the tests' sys.path.
_PROCESSES.set_forkserver_preload(["bpa.suite", "flows.invoice_processing"])


@dataclass(frozen=True)
class Crash:
    """Where the process dies, and what it does until then."""

    settings: Settings
    run_id: str
    at: str
    #: Resume the waiting run with this answer; None: execute the queued run.
    decision: dict[str, Any] | None = None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _die_after_node(name: str) -> None:
    real = getattr(nodes, name)

    @functools.wraps(real)
    async def node(state: Any, runtime: Any) -> Any:
        update = await real(state, runtime)
        _die()
        return update

    setattr(nodes, name, node)  # this process only: it builds its graph after this


def _dying(connector: Any, action: str, *, acts: bool) -> None:
    """Make `connector` kill the process when `action` is called, or once it committed (on
    this instance only, so it stays the connector of its kind that flows look up)."""
    real = getattr(connector, action)

    async def call(request: Any, **kwargs: Any) -> Any:
        if acts:
            await real(request, **kwargs)
        _die()

    setattr(connector, action, call)


async def _work(crash: Crash) -> None:
    where, _, name = crash.at.partition(":")
    if where == "after":
        _die_after_node(name)
    async with Suite.open(crash.settings) as suite:
        if where in ("calling", "effect"):
            _dying(suite.runner.connectors["accounting"], name, acts=where == "effect")
        if crash.decision is None:
            await suite.runner.execute(crash.run_id)
        else:
            await suite.runner.resume(crash.run_id, crash.decision, by="crash-test")


def work(crash: Crash) -> None:
    asyncio.run(_work(crash))


def spawn(crash: Crash, *, timeout: float = 60) -> int:
    """Run `crash` in a process of its own; its exit code (-9 when it died as planned)."""
    process = _PROCESSES.Process(target=work, args=(crash,), daemon=True)
    process.start()
    process.join(timeout)
    if process.exitcode is None:
        process.kill()
        raise TimeoutError(f"the crash process for {crash.at} did not end in {timeout} s")
    return process.exitcode
