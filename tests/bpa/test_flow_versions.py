"""Flow versions (issue #12, part 2): every run records a hash of its flow's graph, prompts and
package; a waiting run resumes on changed code only when its checkpoint still fits, and
`bpa runs migrate` moves it explicitly, recorded in its audit trail.

The flow under test is a real plug-in: a package with an entry point (`toyver`) written into
a folder on `sys.path`, and rewritten between "deployments" as a release would change it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypedDict

import pytest
from api_client import api_client
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel
from typer.testing import CliRunner

from bpa.checkpoints import open_checkpointer
from bpa.cli import app
from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.documents import DocumentStore
from bpa.errors import FlowVersionMismatch
from bpa.flows import Flow
from bpa.models import ModelGateway
from bpa.models.offline import OfflineBackend
from bpa.review import ReviewQuestion
from bpa.runs.decisions import queue_decision
from bpa.runs.runner import Runner
from bpa.runs.store import RunStore
from bpa.runs.tables import ApprovalStatus, RunStatus
from bpa.versions import FlowVersion, resume_problem, version_of

cli = CliRunner()

_PACKAGE = '''
"""A flow written by tests/bpa/test_flow_versions.py: doubles a number, asks a human."""

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel

from bpa.flows import Flow
from bpa.review import ReviewQuestion


class ToyInput(BaseModel):
    amount: int


class ToyState(TypedDict, total=False):
    amount: int
    doubled: int
    approved: bool


def double(state: ToyState) -> dict[str, Any]:
    return {"doubled": state["amount"] * 2}


def ask(state: ToyState) -> dict[str, Any]:
    question = ReviewQuestion(kind="toy", title="a big amount", reasons=["doubled"])
    answer = interrupt(question.model_dump())
    return {"approved": answer["action"] == "approve"}


def build_graph() -> StateGraph:
    graph = StateGraph(ToyState)
    graph.add_node("double", double)
    graph.add_node("{ask}", ask, metadata={"kind": "human"})
    graph.add_edge(START, "double")
    graph.add_edge("double", "{ask}")
    graph.add_edge("{ask}", END)
    return graph


flow = Flow(
    name="toyver",
    version="1",
    description="doubles a number and asks a human",
    build_graph=build_graph,
    input_model=ToyInput,
    make_output=lambda s: {"doubled": s.get("doubled"), "approved": s.get("approved")},
)
'''


class Deploy:
    """Installs `toyver` (code, prompt, entry point) into a folder on sys.path; calling it
    again replaces the code, as a new release would."""

    def __init__(self, site: Path) -> None:
        self.site = site
        dist = site / "toyver-0.1.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toyver\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text("[bpa.flows]\ntoyver = toyver:flow\n")

    def __call__(self, *, ask: str = "review", prompt: str = "Approve {{ amount }}?") -> None:
        package = self.site / "toyver"
        (package / "prompts").mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(_PACKAGE.replace("{ask}", ask))
        (package / "prompts" / "ask.j2").write_text(prompt)
        sys.modules.pop("toyver", None)  # the next lookup imports the new code

    def version(self) -> str:
        import toyver  # type: ignore[import-not-found]

        found: str = version_of(toyver.flow).id
        sys.modules.pop("toyver", None)
        return found


@pytest.fixture
def deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deploy]:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # a rewrite is always read again
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    deployer = Deploy(site)
    deployer()
    yield deployer
    sys.modules.pop("toyver", None)


def bpa(*args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def start_waiting_run(tmp_path: Path) -> str:
    (tmp_path / "in.json").write_text('{"amount": 60}')
    code, out, err = bpa("run", "toyver", "--input", str(tmp_path / "in.json"))
    assert code == 0, err
    run = json.loads(out)
    assert run["status"] == "waiting"
    return str(run["run_id"])


def show(run_id: str) -> dict[str, Any]:
    code, out, err = bpa("runs", "show", run_id, "--json")
    assert code == 0, err
    shown: dict[str, Any] = json.loads(out)
    return shown


def versions() -> dict[str, dict[str, Any]]:
    code, out, err = bpa("flows", "versions", "toyver", "--json")
    assert code == 0, err
    return {entry["version"]: entry for entry in json.loads(out)}


# -- what a version is -------------------------------------------------------------------


def test_version_is_stable_across_calls_and_processes(deploy: Deploy, tmp_path: Path) -> None:
    here = deploy.version()
    assert here == deploy.version()
    probe = "import toyver; from bpa.versions import version_of; print(version_of(toyver.flow).id)"
    other = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(deploy.site), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert other.stdout.strip() == here


def test_version_changes_with_a_node_an_edge_or_a_prompt(deploy: Deploy) -> None:
    first = deploy.version()
    deploy(prompt="Approve {{ amount }} now?")
    reworded = deploy.version()
    deploy(ask="check", prompt="Approve {{ amount }} now?")
    renamed = deploy.version()
    assert len({first, reworded, renamed}) == 3

    def with_extra_edge() -> StateGraph[Any, Any, Any, Any]:
        graph = _graph()
        graph.add_edge("double", END)
        return graph

    assert version_of(_flow(_graph)).id != version_of(_flow(with_extra_edge)).id


# -- when a waiting run may resume -------------------------------------------------------


class _State(TypedDict, total=False):
    amount: int
    doubled: int
    approved: bool


class _Input(BaseModel):
    amount: int


def _double(state: _State) -> dict[str, Any]:
    return {"doubled": state["amount"] * 2}


def _ask(state: _State) -> dict[str, Any]:
    question = ReviewQuestion(kind="toy", title="a big amount", reasons=["doubled"])
    return {"approved": interrupt(question.model_dump())["action"] == "approve"}


def _graph(
    ask: str = "review", after: str | None = None, first: str | None = None
) -> StateGraph[Any, Any, Any, Any]:
    graph = StateGraph(_State)
    graph.add_node("double", _double)
    graph.add_node(ask, _ask)
    if first is None:
        graph.add_edge(START, "double")
    else:
        graph.add_node(first, _double)
        graph.add_edge(START, first)
        graph.add_edge(first, "double")
    graph.add_edge("double", ask)
    if after is None:
        graph.add_edge(ask, END)
    else:
        graph.add_node(after, _double)
        graph.add_edge(ask, after)
        graph.add_edge(after, END)
    return graph


def _flow(build: Callable[[], StateGraph[Any, Any, Any, Any]]) -> Flow:
    return Flow("toy", "1", "toy", build, _Input, dict)


def _version(build: Callable[[], StateGraph[Any, Any, Any, Any]]) -> FlowVersion:
    return version_of(_flow(build))


def test_what_a_waiting_run_can_resume_on() -> None:
    before = _version(_graph).manifest
    assert resume_problem(before, _version(_graph), "review") is None
    renamed = resume_problem(before, _version(lambda: _graph(ask="check")), "review")
    assert renamed == "node 'review' no longer exists (the flow's nodes: check, double)"
    added = resume_problem(before, _version(lambda: _graph(after="note")), "review")
    assert added == "steps added after it: note"
    # A change before the node the run waits at leaves what it has yet to do alone.
    assert resume_problem(before, _version(lambda: _graph(first="prepare")), "review") is None
    shrunk = _version(_graph).manifest | {"state": ["amount", "approved"]}
    assert resume_problem(before, FlowVersion("toy", "x", shrunk), "review") == (
        "state keys removed: doubled"
    )
    # Runs from before versions were recorded: only the node's existence can be checked.
    assert resume_problem(None, _version(_graph), "review") is None
    assert resume_problem(None, _version(lambda: _graph(ask="check")), "review") is not None


# -- the acceptance test: refusal, then the explicit migration ------------------------------


def test_a_changed_graph_refuses_resume_until_the_run_is_migrated(
    deploy: Deploy, tmp_path: Path
) -> None:
    refused_then_migrated(deploy, tmp_path)


@pytest.mark.postgres
def test_the_same_on_postgresql(
    deploy: Deploy, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs, versions and LangGraph's checkpoints in PostgreSQL."""
    monkeypatch.setenv("BPA_DATABASE_URL", pg_url)
    refused_then_migrated(deploy, tmp_path)


def refused_then_migrated(deploy: Deploy, tmp_path: Path) -> None:
    first = deploy.version()
    run_id = start_waiting_run(tmp_path)
    assert show(run_id)["approvals"][0]["node"] == "review"

    deploy(ask="check")  # the node the run waits at is renamed: its checkpoint points nowhere
    renamed = deploy.version()
    code, _out, err = bpa("approve", run_id)
    assert code == 2
    assert "node 'review' no longer exists" in err
    assert f"bpa runs migrate {run_id} --at NODE" in err

    asyncio.run(_api_refuses_resume(run_id))
    shown = show(run_id)
    assert shown["status"] == "waiting" and shown["approvals"][0]["status"] == "pending"

    code, _out, err = bpa("runs", "migrate", run_id)
    assert code == 2 and "--at NODE" in err and "nodes: check, double" in err

    code, out, err = bpa("runs", "migrate", run_id, "--at", "check", "--by", "ops:ann")
    assert code == 0, err
    assert json.loads(out)["to_version"] == renamed
    migrated = [e for e in show(run_id)["events"] if e["kind"] == "run_migrated"]
    assert [e["payload"] for e in migrated] == [
        {
            "from_version": first,
            "to_version": renamed,
            "by": "ops:ann",
            "node": "review",
            "at": "check",
            "dropped_state": [],
        }
    ]

    code, out, err = bpa("approve", run_id)
    assert code == 0, err
    done = json.loads(out)
    assert done["status"] == "succeeded"
    assert done["output"] == {"doubled": 120, "approved": True}

    listed = versions()
    assert listed[renamed]["installed"] and listed[renamed]["runs"] == {"succeeded": 1}
    assert not listed[first]["installed"] and listed[first]["runs"] == {}
    code, out, _err = bpa("flows", "versions", "toyver")
    assert code == 0 and renamed in out and "1 succeeded" in out


async def _api_refuses_resume(run_id: str) -> None:
    """The API answers the same refusal as a 409 problem, and records nothing."""
    async with api_client(Settings()) as client:
        response = await client.post(f"/runs/{run_id}/resume", json={"action": "approve"})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:bpa:problem:flow-version-incompatible"
    assert f"bpa runs migrate {run_id}" in problem["detail"]


def test_a_prompt_change_resumes_without_migration(deploy: Deploy, tmp_path: Path) -> None:
    first = deploy.version()
    run_id = start_waiting_run(tmp_path)
    deploy(prompt="Do you approve {{ amount }}?")
    reworded = deploy.version()
    assert reworded != first

    code, out, err = bpa("approve", run_id)
    assert code == 0, err
    assert json.loads(out)["status"] == "succeeded"
    shown = show(run_id)
    assert not [e for e in shown["events"] if e["kind"] == "run_migrated"]
    listed = versions()
    assert listed[first]["runs"] == {"succeeded": 1}, "a run keeps the version it started on"
    assert listed[reworded]["installed"]


def test_migrating_a_run_on_the_installed_version_changes_nothing(
    deploy: Deploy, tmp_path: Path
) -> None:
    run_id = start_waiting_run(tmp_path)
    code, out, err = bpa("runs", "migrate", run_id)
    assert code == 0 and "nothing to migrate" in err
    assert json.loads(out)["migrated"] is False
    assert not [e for e in show(run_id)["events"] if e["kind"] == "run_migrated"]


# -- a worker that takes up an answer queued before the code changed ---------------------


@asynccontextmanager
async def _runner(settings: Settings, flow: Flow) -> AsyncIterator[Runner]:
    """A runner on the settings' database and checkpoints, with `flow` installed."""
    engine = open_engine(settings)
    create_schema(engine)
    try:
        async with open_checkpointer(settings) as checkpointer:
            yield Runner(
                settings=settings,
                store=RunStore(engine),
                flows={flow.name: flow},
                connectors={},
                models=ModelGateway(OfflineBackend()),
                documents=DocumentStore(settings.home / "documents", max_bytes=1000),
                checkpointer=checkpointer,
            )
    finally:
        engine.dispose()


async def test_a_worker_hands_back_an_answer_the_installed_flow_cannot_apply(
    tmp_path: Path,
) -> None:
    """The API recorded the answer while the old code was installed; the worker that takes
    the run up runs the new code. LangGraph would resume the checkpoint at a node that no
    longer exists by doing nothing, and the run would end `succeeded` with the answer never
    applied: the worker reopens the question instead, the answer kept in the trail."""
    settings = Settings(home=tmp_path / "home")
    async with _runner(settings, _flow(_graph)) as old:
        run = await old.start("toy", {"amount": 60}, trigger="api")
        assert run.status == RunStatus.waiting
        queue_decision(old, run.id, {"action": "approve"}, by="ann")
    async with _runner(settings, _flow(lambda: _graph(ask="check"))) as new:
        back = await new.execute(run.id)
        assert back.status == RunStatus.waiting
        assert [a.status for a in new.store.approvals(run.id)] == [ApprovalStatus.pending]
        refused = new.store.events(run.id, kinds=("resume_refused",))
        assert len(refused) == 1
        assert refused[0].payload["answer"]["action"] == "approve"
        assert f"bpa runs migrate {run.id} --at NODE" in refused[0].payload["reason"]
        with pytest.raises(FlowVersionMismatch):
            queue_decision(new, run.id, {"action": "approve"}, by="ann")
