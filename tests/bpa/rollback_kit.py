"""Test code for the rollback tests: a suite seeded once and copied per test, side effects
made in a run through the engine's audited path, snapshots of the mocked systems' tables
and their differences, and a process that dies in the middle of a rollback.

What the comparison leaves out, and why:

- the columns ``updated_at`` and ``version``: when a row last changed, and the optimistic
  lock counter, which must only grow so that a concurrent writer is caught. An undo is a
  change: it cannot honestly move them back.
- the table ``connector_idempotency``: each system's record of the calls made to it under
  a key (as a payment API keeps its idempotency keys), kept by design.

Everything else is compared row by row; a test names each row an undo leaves on purpose
(a void bill, a closed ticket, the history of a change and of its undoing).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select
from sqlmodel import SQLModel

from bpa.config import Settings
from bpa.effects import EffectLedger
from bpa.rollback import RollbackReport, RunRollback
from bpa.runs.audit import RunAudit
from bpa.runs.context import ConnectorHub
from bpa.runs.status import RunStatus
from bpa.runs.tables import utcnow
from bpa.suite import Suite

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: The mocked systems' tables.
SYSTEMS = ("acct_", "crm_", "tkt_", "mail_")
IGNORED_COLUMNS = frozenset({"updated_at", "version"})
IGNORED_TABLES = frozenset({"connector_idempotency"})

__all__ = [
    "Acting",
    "Breaks",
    "Diff",
    "diff",
    "roll_back",
    "rollback_settings",
    "seeded_home",
    "snapshot",
]


@pytest.fixture(scope="session")
def seeded_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BPA_HOME whose database holds the mocked systems seeded from fixtures/, made once:
    seeding takes about a second, a copy a few milliseconds."""
    home = tmp_path_factory.mktemp("rollback-seed") / "home"

    async def seed() -> None:
        async with Suite.open(Settings(home=home, fixtures_dir=FIXTURES), preload_flows=False):
            pass

    asyncio.run(seed())
    return home


@pytest.fixture
def rollback_settings(settings: Settings, seeded_home: Path) -> Settings:
    """The test's settings over a copy of the seeded home (on PostgreSQL, when the suite
    runs there, each test seeds its own schema instead)."""
    if settings.database_url is None:
        shutil.copytree(seeded_home, settings.home)
    return settings


Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def snapshot(engine: Engine) -> Rows:
    """Every row of the mocked systems' tables, by table and primary key."""
    rows: Rows = {}
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            name = table.name
            if not name.startswith(SYSTEMS) or name in IGNORED_TABLES or name not in present:
                continue
            names = [c.name for c in table.columns]
            kept = [i for i, n in enumerate(names) if n not in IGNORED_COLUMNS]
            keys = [names.index(c.name) for c in table.primary_key]
            rows[name] = {
                tuple(row[i] for i in keys): {names[i]: row[i] for i in kept}
                for row in conn.execute(select(table))
            }
    return rows


@dataclass
class Diff:
    """Rows added, removed and changed between two snapshots, by table."""

    added: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    removed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    changed: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows added per table."""
        return {table: len(rows) for table, rows in self.added.items()}


def diff(before: Rows, after: Rows) -> Diff:
    found = Diff()
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        added = [new[k] for k in new.keys() - old.keys()]
        removed = [old[k] for k in old.keys() - new.keys()]
        changed = [(old[k], new[k]) for k in old.keys() & new.keys() if old[k] != new[k]]
        for target, rows in ((found.added, added), (found.removed, removed)):
            if rows:
                target[table] = rows
        if changed:
            found.changed[table] = changed
    return found


class Acting:
    """A run that makes side effects the way a flow's nodes do: through the run's audited
    connectors, each call announced, recorded and kept in the engine's ledger."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        run, _ = suite.store.create_run(
            flow="rollback_test", flow_version="1", input={}, trigger="test"
        )
        self.id = run.id
        audit = RunAudit(run.id, suite.store.add_events)
        self.hub = ConnectorHub(suite.connectors, audit, EffectLedger(suite.engine), run_id=run.id)

    def __getattr__(self, connector: str) -> Any:
        """``run.crm``, ``run.accounting``...: the run's audited connector."""
        return self.hub.get(connector)

    def key(self, what: str) -> str:
        return f"{self.id}:test:{what}"

    def finish(self, status: RunStatus = RunStatus.succeeded) -> None:
        self.suite.store.update(self.id, status=status, finished_at=utcnow())


async def roll_back(
    suite: Suite, run_id: str, reason: str = "test rollback", **connectors: Any
) -> RollbackReport:
    """Roll the run back with the suite's connectors (some replaced by `connectors`)."""
    undo = RunRollback(suite.store, {**suite.connectors, **connectors}, lease_s=30)
    return await undo(run_id, reason=reason, by="tester")


class Breaks:
    """A connector whose `action` raises `error` on its next `times` calls: a fault put in
    front of the real one, which answers everything else."""

    def __init__(self, connector: Any, action: str, error: BaseException, times: int = 1) -> None:
        self._connector = connector
        self._action = action
        self._error = error
        self._times = times

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._connector, name)
        if name != self._action:
            return real

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self._times > 0:
                self._times -= 1
                raise self._error
            return await real(*args, **kwargs)

        return call


# -- a rollback in a process that dies half-way ------------------------------------------------


def _die_after(connector: Any, action: str) -> None:
    """`action` of this connector instance acts, then the process dies (kill -9: no cleanup,
    nothing recorded after the effect)."""
    real = getattr(connector, action)

    async def call(request: Any, **kwargs: Any) -> Any:
        await real(request, **kwargs)
        os._exit(137)

    setattr(connector, action, call)


def _dying_rollback(settings: Settings, run_id: str, connector: str, action: str) -> None:
    async def work() -> None:
        async with Suite.open(settings, preload_flows=False) as suite:
            _die_after(suite.connectors[connector], action)
            await roll_back(suite, run_id)

    asyncio.run(work())


def die_rolling_back(settings: Settings, run_id: str, connector: str, action: str) -> int:
    """Roll the run back in a process of its own that dies once `connector.action` (an undo)
    acted; its exit code."""
    process = multiprocessing.get_context("spawn").Process(
        target=_dying_rollback, args=(settings, run_id, connector, action), daemon=True
    )
    process.start()
    process.join(120)
    if process.exitcode is None:
        process.kill()
        raise TimeoutError("the dying rollback did not end")
    return process.exitcode


def iter_events(suite: Suite, run_id: str, kind: str) -> Iterator[dict[str, Any]]:
    return (e.payload for e in suite.store.events(run_id, kinds=(kind,)))
