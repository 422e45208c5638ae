"""The run store's hot path (SQLAlchemy Core rows turned into `Run`s without the ORM)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.runs.admin import recorded_action
from bpa.runs.store import RunStore

FRESH_PROCESS = """
from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.runs.store import RunStore

engine = open_engine(Settings())
create_schema(engine)
store = RunStore(engine)
run, created = store.create_run(flow="f", flow_version="1", input={"a": 1}, trigger="api")
assert created and run.id.startswith("run_") and not run.status.finished
assert store.get(run.id).input == {"a": 1}
print("ok")
"""


def test_a_fresh_process_can_create_and_read_runs_before_any_orm_query(tmp_path: Path) -> None:
    # The first Run of a process is built without the ORM; its attributes must still work.
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS],
        env={"BPA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_an_admin_action_cancelled_midway_is_recorded_as_failed(tmp_path: Path) -> None:
    """A request cancelled while its administrative action runs (the client went away)
    leaves the action's run failed with its reason, not succeeded."""
    engine = open_engine(Settings(_env_file=None, home=tmp_path / "home"))  # type: ignore[call-arg]
    create_schema(engine)
    store = RunStore(engine)
    ids: list[str] = []

    async def action() -> None:
        with recorded_action(
            store, flow="toy_admin", input={"x": 1}, trigger="cli", failure_code="toy_failed"
        ) as act:
            ids.append(act.run_id)
            await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(action())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    run = store.get(ids[0])
    assert run.status == "failed" and run.error is not None
    assert run.error["code"] == "toy_failed"
    assert run.input == {"x": 1} and run.flow == "toy_admin"
