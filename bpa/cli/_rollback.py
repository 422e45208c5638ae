"""`bpa runs rollback RUN_ID --reason ...`: undo what a run did (bpa/rollback.py).

Imports only typer here: the engine loads when the command runs.
"""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from bpa.rollback import RollbackReport
    from bpa.suite import Suite

__all__ = ["rollback"]


def rollback(
    run_id: Annotated[str, typer.Argument(help="The run to roll back")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="Why; kept in the audit trail and in undo requests that record one "
            "(a voided bill's reason, a closed ticket's note)",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text")] = False,
) -> None:
    """Undo every side effect RUN_ID made, newest first, with each connector's declared undo.

    One line per side effect: undone, already undone, cannot undo (an e-mail a server
    accepted), failed, or left. Exit code 1 when an undo failed: the run is then
    rollback_failed; run the command again once the cause is fixed, and it carries on
    where it stopped. A run rolled back already is left as it is."""
    from bpa.cli._common import with_suite
    from bpa.rollback import RunRollback
    from bpa.runs.status import RunStatus

    async def work(suite: Suite) -> RollbackReport:
        undo = RunRollback.of(suite)
        return await undo(run_id, reason=reason, by=f"cli:{getpass.getuser()}")

    report = with_suite(work)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        typer.echo(_headline(report))
        for line in report.lines():
            typer.echo(f"  {line}")
    if report.status == RunStatus.rollback_failed:
        raise typer.Exit(1)


def _headline(report: RollbackReport) -> str:
    if report.noop:
        return f"run {report.run_id} was rolled back already; nothing was done now"
    counts: dict[str, int] = {}
    for step in report.steps:
        counts[step.outcome] = counts.get(step.outcome, 0) + 1
    summary = ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in counts.items())
    return f"run {report.run_id}: {report.status} ({summary or 'it made no side effects'})"
