"""Automation health per flow and version (issue #12, part 5): `bpa stats` and `/metrics`.

Runs of two versions of one flow, with known outcomes, questions, corrections, durations
and model calls, recorded through the store as the runner records them; every number is
worked out by hand below.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from api_client import api_module
from langgraph.checkpoint.memory import InMemorySaver
from test_cli_imports import probe
from typer.testing import CliRunner

from bpa.cli import app
from bpa.config import Settings
from bpa.db import create_schema, make_engine, open_engine
from bpa.documents import DocumentStore
from bpa.models import ModelGateway
from bpa.models.offline import OfflineBackend
from bpa.runs.runner import Runner
from bpa.runs.stats import flow_stats
from bpa.runs.store import RunStore
from bpa.runs.tables import RunEvent

cli = CliRunner()
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

#: (version, status, seconds it took, model calls, the question's answer: None = no question)
RUNS: list[tuple[str, str, float | None, int, dict[str, Any] | None]] = [
    ("v1", "succeeded", 10, 2, None),
    ("v1", "succeeded", 20, 2, {"action": "approve"}),
    ("v1", "succeeded", 30, 3, {"action": "correct", "corrections": {"total": "12", "iban": None}}),
    ("v1", "failed", 40, 1, None),
    ("v1", "waiting", None, 1, {}),  # asked, not answered yet
    ("v2", "succeeded", 5, 1, None),
    ("v2", "rolled_back", 15, 0, {"action": "correct", "corrections": {"iban": "DE89"}}),
    ("v2", "rollback_failed", 25, 0, None),
]

V1 = {
    "flow": "invoice",
    "version": "v1",
    "runs": {"failed": 1, "succeeded": 3, "waiting": 1},
    "finished": 4,
    "automation_rate": 0.25,  # only the first succeeded without a question
    "correction_rates": {"total": 0.25},  # a null correction is no correction
    "rollbacks": 0,
    "duration_p50_s": 20.0,  # nearest rank of [10, 20, 30, 40]
    "duration_p95_s": 40.0,
    "model_calls_per_run": 1.8,  # 9 calls, 5 runs started
}
V2 = {
    "flow": "invoice",
    "version": "v2",
    "runs": {"rollback_failed": 1, "rolled_back": 1, "succeeded": 1},
    "finished": 3,
    "automation_rate": pytest.approx(1 / 3),
    "correction_rates": {"iban": pytest.approx(1 / 3)},
    "rollbacks": 2,
    "duration_p50_s": 15.0,
    "duration_p95_s": 25.0,
    "model_calls_per_run": pytest.approx(1 / 3),
}


def record_runs(store: RunStore) -> None:
    for n, (version, status, seconds, calls, answer) in enumerate(RUNS):
        run, _ = store.create_run(
            flow="invoice", flow_version=version, input={"n": n}, trigger="api"
        )
        started = T0 + dt.timedelta(minutes=n)
        finished = None if seconds is None else started + dt.timedelta(seconds=seconds)
        calls_made = [RunEvent(run_id=run.id, kind="model_call", payload={}) for _ in range(calls)]
        store.update(
            run.id,
            status=status,
            created_at=started,
            started_at=started,
            finished_at=finished,
            events=calls_made,
        )
        if answer is not None:
            question = store.open_approval(run.id, node="review", interrupt_id=f"i{n}", question={})
            if answer:
                store.decide(question.id, decision=answer, by="ann")
    other, _ = store.create_run(flow="tickets", flow_version="t1", input={}, trigger="api")
    store.update(other.id, status="succeeded", created_at=T0, started_at=T0, finished_at=T0)


def test_flow_stats_groups_by_version(settings: Settings) -> None:
    engine = open_engine(settings)
    create_schema(engine)
    record_runs(RunStore(engine))
    found = [entry.as_json() for entry in flow_stats(engine, flow="invoice")]
    engine.dispose()
    assert found == [V1, V2]


@pytest.mark.postgres
def test_flow_stats_on_postgresql(pg_url: str) -> None:
    """The same numbers from PostgreSQL's own JSON and percentile functions."""
    engine = make_engine(pg_url)
    create_schema(engine)
    record_runs(RunStore(engine))
    found = [entry.as_json() for entry in flow_stats(engine, flow="invoice")]
    engine.dispose()
    assert found == [V1, V2]


def test_bpa_stats_shows_each_version() -> None:
    engine = open_engine(Settings())  # the CLI's database: BPA_HOME, as set for each test
    create_schema(engine)
    record_runs(RunStore(engine))
    engine.dispose()

    as_json = cli.invoke(app, ["stats", "--json", "--flow", "invoice"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == [V1, V2]

    table = cli.invoke(app, ["stats"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    lines = {line.split("│")[2].strip(): line for line in table.stdout.splitlines() if "│" in line}
    assert {"v1", "v2", "t1"} <= set(lines)
    assert "25%" in lines["v1"] and "total 25%" in lines["v1"] and "20.0 s" in lines["v1"]
    assert "1 rolled_back" in lines["v2"] and "iban 33%" in lines["v2"]

    recent = cli.invoke(app, ["stats", "--json", "--days", "1"])  # the runs are from March
    assert recent.exit_code == 0 and json.loads(recent.stdout) == []


def test_metrics_group_by_version(settings: Settings) -> None:
    engine = open_engine(settings)
    create_schema(engine)
    store = RunStore(engine)
    record_runs(store)
    runner = Runner(
        settings=settings,
        store=store,
        flows={},
        connectors={},
        models=ModelGateway(OfflineBackend()),
        documents=DocumentStore(settings.home / "documents", max_bytes=1000),
        checkpointer=InMemorySaver(),
    )
    text = api_module("api.metrics").ApiMetrics(runner).render().decode()
    engine.dispose()

    v1 = 'flow="invoice",version="v1"'
    expected = [
        f'bpa_flow_version_runs{{{v1},status="succeeded"}} 3.0',
        f"bpa_flow_version_automation_ratio{{{v1}}} 0.25",
        f'bpa_flow_version_correction_ratio{{field="total",{v1}}} 0.25',
        f'bpa_flow_version_duration_seconds{{{v1},quantile="0.95"}} 40.0',
        f"bpa_flow_version_model_calls_per_run{{{v1}}} 1.8",
        'bpa_flow_version_rollbacks{flow="invoice",version="v2"} 2.0',
    ]
    lines = {_normal(line) for line in text.splitlines() if "{" in line}
    missing = [line for line in expected if _normal(line) not in lines]
    assert not missing, text


def _normal(line: str) -> str:
    """A sample line with its labels in name order (the exposition format keeps no order)."""
    name, _, rest = line.partition("{")
    labels, _, value = rest.partition("}")
    return f"{name}{{{','.join(sorted(labels.split(',')))}}}{value}"


def test_stats_loads_no_flow(tmp_path: Path) -> None:
    """Like `bpa runs list`, `bpa stats` reads the database only."""
    assert probe(["stats"], tmp_path) == {"code": 0, "heavy": []}
