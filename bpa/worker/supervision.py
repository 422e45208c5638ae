"""Processes that `bpa serve` and `bpa worker --processes N` start end with their parent.

A parent stopped by a signal it can catch stops its children itself (SIGTERM, then SIGKILL:
`bpa.cli._worker.stop_workers`). A parent killed outright (kill -9, the OOM killer) cannot,
and its workers would keep taking runs with nobody to stop them. So a child started this
way is told its parent's pid (`BPA_SUPERVISOR_PID`) and, on Linux, asks the kernel for a
SIGTERM when that parent dies (`PR_SET_PDEATHSIG`); elsewhere it checks its parent every
second. SIGTERM is the child's graceful stop: running runs finish or stop at a checkpoint,
and their leases let another worker carry them on.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["SUPERVISOR_ENV", "child_environment", "end_with_supervisor"]

SUPERVISOR_ENV = "BPA_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1
_CHECK_EVERY_S = 1.0


def child_environment() -> dict[str, str]:
    """This process's environment, naming it as the supervisor of the child started with it."""
    return {**os.environ, SUPERVISOR_ENV: str(os.getpid())}


def end_with_supervisor() -> None:
    """In a supervised child: get a SIGTERM when the supervisor dies. Does nothing in a
    process started any other way (by a shell, systemd, a container runtime)."""
    raw = os.environ.pop(SUPERVISOR_ENV, None)  # not passed on to this process's children
    if not raw or not raw.isdigit():
        return
    supervisor = int(raw)
    if not (sys.platform.startswith("linux") and _ask_kernel()):
        threading.Thread(
            target=_watch, args=(supervisor,), name="bpa-supervisor-watch", daemon=True
        ).start()
    if os.getppid() != supervisor:  # it died before we asked: nobody would send the signal
        os.kill(os.getpid(), signal.SIGTERM)


def _ask_kernel() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(supervisor: int) -> None:
    while os.getppid() == supervisor:
        time.sleep(_CHECK_EVERY_S)
    os.kill(os.getpid(), signal.SIGTERM)
