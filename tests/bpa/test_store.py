"""The run store's hot path (SQLAlchemy Core rows turned into `Run`s without the ORM)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
