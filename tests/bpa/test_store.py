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


async def test_a_held_lease_is_renewed_only_once_a_renewal_is_due(tmp_path: Path) -> None:
    """A run that ends before its first renewal is due costs no renewal (a timer waits, no
    task); one that lasts longer is renewed every third of the lease and keeps it."""
    import asyncio

    from bpa.config import Settings
    from bpa.db import create_schema, open_engine
    from bpa.runs.leases import HeldLease
    from bpa.runs.store import RunStore
    from bpa.runs.tables import RunStatus

    settings = Settings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]
    settings.ensure_home()
    engine = open_engine(settings)
    create_schema(engine)
    store = RunStore(engine)
    renewals: list[str] = []
    renew = store.renew

    def counted(run_id: str, owner: str, *, lease_s: float) -> bool:
        renewals.append(run_id)
        return renew(run_id, owner, lease_s=lease_s)

    store.renew = counted  # type: ignore[method-assign]
    runs = [
        store.create_run(flow="toy", flow_version="1", input={}, trigger="api")[0].id for _ in "ab"
    ]
    for run_id in runs:
        assert store.acquire(run_id, "me", lease_s=0.3, statuses=[RunStatus.queued])
    async with HeldLease(store, runs[0], "me", 0.3) as quick:
        await asyncio.sleep(0.01)
    assert renewals == [] and quick._task is None
    async with HeldLease(store, runs[1], "me", 0.3) as slow:
        await asyncio.sleep(0.45)
    assert renewals.count(runs[1]) >= 3 and not slow.lost
    engine.dispose()
