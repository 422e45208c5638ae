"""Issue #11, part 2: `bpa new connector|flow` writes a package that installs and passes its
own tests unchanged, and refuses a bad name, an unknown kind or a non-empty directory in
one line with exit code 2, writing nothing."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bpa.cli import app
from bpa.scaffold import connector_package, flow_package, installed_kinds, write_package
from connectors.registry import validate_connector_class

cli = CliRunner()


def bpa(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture
def install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[dict[str, str], str], None]]:
    """Writes a generated package and puts its folder on sys.path (as `pip install -e`
    would); its modules are forgotten afterwards."""

    names: list[str] = []

    def write(files: dict[str, str], name: str) -> None:
        write_package(files, tmp_path / "generated" / name)
        monkeypatch.syspath_prepend(str(tmp_path / "generated" / name))
        names.append(name)

    yield write
    for module in list(sys.modules):
        if module.split(".")[0] in names:
            del sys.modules[module]


def compiles(files: dict[str, str]) -> None:
    for path, text in files.items():
        if path.endswith(".py"):
            compile(text, path, "exec")


def test_the_installed_kinds_are_offered() -> None:
    assert {"accounting", "crm", "messaging", "ticketing"} <= set(installed_kinds())


@pytest.mark.parametrize("kind", sorted(installed_kinds()))
def test_a_connector_of_each_kind_renders_and_passes_the_registry(
    kind: str, install: Callable[[dict[str, str], str], None]
) -> None:
    name = f"acme_{kind}"
    files = connector_package(name, kind)
    assert set(files) == {
        "pyproject.toml",
        "README.md",
        f"{name}/__init__.py",
        f"{name}/connector.py",
        f"tests/test_{name}.py",
    }
    compiles(files)
    project = tomllib.loads(files["pyproject.toml"])
    class_name = f"Acme{kind.capitalize()}Connector"
    assert project["project"]["entry-points"]["bpa.connectors"] == {name: f"{name}:{class_name}"}
    install(files, name)
    cls = getattr(importlib.import_module(name), class_name)
    assert cls.kind == kind
    assert validate_connector_class(cls, name) == []
    assert cls({}).config is not None, "starts with no configuration, as the suite starts it"


async def test_the_crm_skeleton_keeps_tasks_in_its_data_dir(
    install: Callable[[dict[str, str], str], None], tmp_path: Path
) -> None:
    from connectors.schemas import TaskCreate, TaskRef

    install(connector_package("acme_tasks", "crm"), "acme_tasks")
    cls = importlib.import_module("acme_tasks").AcmeTasksConnector
    assert cls.capabilities == frozenset({"tasks"})
    request = TaskCreate.model_validate(
        {
            "subject": "Call back",
            "due_at": "2030-01-15T09:00:00+00:00",
            "related_type": "customer",
            "related_id": "C-1",
        }
    )
    task = await cls({"data_dir": str(tmp_path)}).create_task(request, idempotency_key="k1")
    assert await cls({"data_dir": str(tmp_path)}).get_task(TaskRef(task_id=task.id)) == task


def test_the_flow_renders_with_an_example_input_that_fits(
    install: Callable[[dict[str, str], str], None],
) -> None:
    files = flow_package("follow_up")
    compiles(files)
    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["entry-points"]["bpa.flows"] == {"follow_up": "follow_up:flow"}
    install(files, "follow_up")
    flow = importlib.import_module("follow_up").flow
    assert flow.name == "follow_up"
    flow.input_model.model_validate(json.loads(files["input.json"]))
    graph = flow.build_graph().compile()
    assert set(graph.get_graph().nodes) == {"__start__", "plan_task", "open_task", "__end__"}


def test_bpa_new_writes_the_package_into_dir(tmp_path: Path) -> None:
    code, out = bpa("new", "connector", "acme_crm", "--kind", "crm", "--dir", "out/crm")
    assert code == 0, out
    assert (tmp_path / "out/crm/acme_crm/connector.py").is_file()
    assert "pip install -e 'out/crm[dev]'" in out
    code, out = bpa("new", "flow", "follow_up")  # default: ./NAME
    assert code == 0, out
    assert (tmp_path / "follow_up/follow_up/graph.py").is_file()
    assert (tmp_path / "follow_up/input.json").is_file()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["connector", "AcmeCrm", "--kind", "crm"], "lower snake case"),
        (["connector", "acme-crm", "--kind", "crm"], "lower snake case"),
        (["connector", "acme__crm", "--kind", "crm"], "lower snake case"),
        (["flow", "2nd_flow"], "lower snake case"),
        (["flow", "class"], "lower snake case"),
        (["connector", "crm", "--kind", "crm"], "a connector named 'crm' is already installed"),
        (["flow", "invoice_processing"], "already installed"),
        (["flow", "json"], "already an importable module"),
        (["connector", "acme_crm", "--kind", "erp"], "installed kinds: accounting, crm"),
    ],
)
def test_a_bad_name_or_kind_is_refused_in_one_line(
    args: list[str], says: str, tmp_path: Path
) -> None:
    code, out = bpa("new", *args)
    assert code == 2
    assert says in out and out.startswith("error:") and out.count("\n") == 1, out
    assert [p.name for p in tmp_path.iterdir() if p.name != "home"] == [], "nothing written"


def test_a_non_empty_directory_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "pyproject.toml").write_text("# my own\n")
    code, out = bpa("new", "flow", "follow_up", "--dir", str(target))
    assert code == 2 and "is not empty" in out and out.count("\n") == 1, out
    assert [p.name for p in target.iterdir()] == ["pyproject.toml"]
    assert (target / "pyproject.toml").read_text() == "# my own\n"
    (target / "pyproject.toml").unlink()
    assert bpa("new", "flow", "follow_up", "--dir", str(target))[0] == 0, "empty is fine"


def test_the_kind_is_required(tmp_path: Path) -> None:
    code, out = bpa("new", "connector", "acme_crm")
    assert code == 2 and "--kind" in out


# -- the acceptance test ------------------------------------------------------------


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_generated_packages_install_in_a_fresh_virtualenv_and_work(tmp_path: Path) -> None:
    """`bpa new` a CRM connector, a ticketing stub and a flow; install them (editable, no
    dependencies, no network) in a new virtualenv that sees this one's packages; run their
    tests, `bpa connectors check` and one run of the flow with a fresh BPA_HOME."""
    work = tmp_path / "work"
    for args in (
        ["connector", "acme_crm", "--kind", "crm"],
        ["connector", "acme_desk", "--kind", "ticketing"],
        ["flow", "follow_up"],
    ):
        code, out = bpa("new", *args, "--dir", str(work / args[1]))
        assert code == 0, out

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    purelib = run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        tmp_path,
        dict(os.environ),
    )
    host = sysconfig.get_path("purelib")  # bpa-suite (editable), pip, pytest, setuptools...
    Path(purelib.strip(), "_bpa_host.pth").write_text(f"import site; site.addsitedir({host!r})\n")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BPA_", "PYTHON"))}
    env |= {"BPA_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    packages = [work / "acme_crm", work / "acme_desk", work / "follow_up"]
    editable = [arg for package in packages for arg in ("-e", str(package))]
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index"]
    run([*pip, "--no-deps", "--no-build-isolation", *editable], tmp_path, env)

    for package in packages:
        out = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], package, env)
        assert re.search(r"\d+ passed", out) and not re.search(r"\d+ failed", out), out

    bpa_cli = [python, "-c", "from bpa.cli import app; app(prog_name='bpa')"]
    checked = subprocess.run(
        [*bpa_cli, "connectors", "check"], cwd=tmp_path, env=env, capture_output=True, text=True
    ).stdout
    assert re.search(r"^ok acme_crm: .*'kept_in': 'memory'", checked, re.M), checked
    assert re.search(r"^ok acme_desk: ", checked, re.M), checked

    result = json.loads(
        run([*bpa_cli, "run", "follow_up", "--input", "input.json"], packages[2], env)
    )
    assert (result["flow"], result["status"]) == ("follow_up", "succeeded"), result
    assert result["output"]["task_id"] and result["output"]["priority"] == "high"
