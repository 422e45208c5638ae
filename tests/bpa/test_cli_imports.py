"""Fast commands (issue #11): importing the CLI and its read-only commands load no flow, model
backend or LangGraph. Checked in a fresh interpreter, since this one has imported them all;
benchmarks/cli_latency.py measures the time, this guards the property without timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Top-level packages only a command that runs a flow (or serves the API) may import.
HEAVY = (
    "langgraph",
    "langchain_core",
    "langchain_openai",
    "sklearn",
    "matplotlib",
    "reportlab",
    "fastapi",
    "flows",
)

_PROBE = """
import json, sys
from bpa.cli import app
try:
    app(json.loads(sys.argv[1]), prog_name="bpa")
except SystemExit as stop:
    code = stop.code
else:
    code = 0
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
with open(sys.argv[3], "w") as out:
    json.dump({"code": code, "heavy": heavy}, out)
"""


def probe(args: list[str], tmp_path: Path) -> dict[str, object]:
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPA_")}
    env["BPA_HOME"] = str(tmp_path / "home")
    subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(HEAVY), str(report)],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(report.read_text())
    return result


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ([], 2),  # no_args_is_help: the help, exit 2
        (["--help"], 0),
        (["runs", "list"], 0),
        (["runs", "list", "--json", "--status", "failed"], 0),
        (["runs", "show", "run_nope"], 2),  # a user error, reported without a traceback
        (["schedules", "list"], 0),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_read_only_commands_import_no_flow_or_langgraph(
    args: list[str], code: int, tmp_path: Path
) -> None:
    result = probe(args, tmp_path)
    assert result == {"code": code, "heavy": []}


def test_running_a_flow_still_imports_it(tmp_path: Path) -> None:
    """The probe sees what a command loads: `flows list` imports every flow."""
    result = probe(["flows", "list"], tmp_path)
    heavy = result["heavy"]
    assert result["code"] == 0 and isinstance(heavy, list)
    assert {"flows", "langgraph"} <= set(heavy)


def test_help_loads_no_command_module_nor_the_database_layer(tmp_path: Path) -> None:
    """`bpa --help` lists the lazily loaded commands from their table: it imports neither
    their modules nor SQLAlchemy, SQLModel or the settings machinery."""
    from bpa.cli import app

    loaded = probe_modules(["--help"], tmp_path)
    assert not {"sqlalchemy", "sqlmodel", "pydantic_settings"} & loaded["top"]
    lazy_modules = {spec.module for spec in app.info.cls.lazy.values()}
    assert lazy_modules and not lazy_modules & loaded["modules"]


_PROBE_MODULES = """
import json, sys
from bpa.cli import app
try:
    app(json.loads(sys.argv[1]), prog_name="bpa")
except SystemExit:
    pass
with open(sys.argv[2], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def probe_modules(args: list[str], tmp_path: Path) -> dict[str, set[str]]:
    report = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPA_")}
    env["BPA_HOME"] = str(tmp_path / "home")
    subprocess.run(
        [sys.executable, "-c", _PROBE_MODULES, json.dumps(args), str(report)],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    modules = set(json.loads(report.read_text()))
    return {"modules": modules, "top": {m.split(".")[0] for m in modules}}


def test_each_lazy_command_has_its_own_help_line() -> None:
    """The line `bpa --help` shows for a lazily loaded command is the start of its own help,
    and every such command loads."""
    from bpa.cli import app
    from bpa.cli._lazy import load

    for name, spec in app.info.cls.lazy.items():
        command = load(name, spec)
        own = " ".join((command.help or "").split())
        assert own.startswith(spec.help.rstrip(".")), (name, spec.help, own)
