"""`bpa demo` is idempotent: the same runs and outcomes on every invocation in one home, and
the commands it prints work when pasted."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from bpa.cli import app

cli = CliRunner()


def bpa(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args), env={"COLUMNS": "100"})
    return result.exit_code, result.output


def _summary(out: str) -> list[str]:
    """What must not change between demos: outcome counts, the reviewers' decisions (as
    their notes say), and the sales review's numbers."""
    keep = ("outcomes:", "reviewer:", "sales review", "invoices wait")
    return [
        line.replace(", in an earlier demo", "")
        for line in out.splitlines()
        if line.startswith(keep) or line.lstrip().startswith(keep) or ".json: " in line
    ]


def _run_ids() -> list[str]:
    code, out = bpa("runs", "list", "--json", "--limit", "1000")
    assert code == 0, out
    return sorted(r["run_id"] for r in json.loads(out))


@pytest.mark.slow  # three demos: about 40 s on two cores
def test_demo_three_times_shows_the_same_runs_and_outcomes() -> None:
    code, first = bpa("demo")
    assert code == 0, first
    runs = _run_ids()
    summary = _summary(first)
    assert any(line.startswith("outcomes:") for line in summary), first
    assert "approved=1" in first and "rejected=1" in first, first

    for _ in range(2):
        code, again = bpa("demo")
        assert code == 0, again
        assert _summary(again) == summary
        assert _run_ids() == runs, "a demo recorded new runs"

    # The printed commands work when pasted, and do what they say.
    approve = re.search(r"approve one with bpa approve (run_\w+)\s*$", again, re.M)
    reject = re.search(r"bpa approve (run_\w+) --reject", again)
    assert approve and reject, again
    code, out = bpa("approve", approve.group(1))
    assert code == 0 and json.loads(out)["output"]["decision"] == "approved", out
    code, out = bpa("approve", reject.group(1), "--reject")
    assert code == 0 and json.loads(out)["output"]["decision"] == "rejected", out
