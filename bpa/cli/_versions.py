"""`bpa runs migrate`: move a waiting run to the installed version of its flow (see
bpa/runs/migrate.py for what happens to its checkpoint)."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bpa.cli._common import err, print_json, with_suite

if TYPE_CHECKING:
    from bpa.suite import Suite

__all__ = ["runs_migrate"]


def runs_migrate(
    run_id: Annotated[str, typer.Argument(help="The waiting run")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="The node of the installed graph where the run continues; needed when the "
            "node it waits at is gone",
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Who migrates (default: cli:<your user name>)")
    ] = None,
) -> None:
    """Move a waiting run to the installed version of its flow, recorded in its audit trail.

    For a run whose answer is refused because its flow changed where the run has yet to go.
    The run keeps its question and its state; it continues at the node it waits at, or at
    --at when that node is gone. Nothing is executed: answer it next (`bpa approve`)."""
    from bpa.runs.migrate import migrate_run

    async def work(suite: Suite) -> Any:
        who = by or f"cli:{getpass.getuser()}"
        return await migrate_run(suite.runner, run_id, by=who, at=at)

    migration = with_suite(work)
    if not migration.changed:
        err.print(
            f"run {run_id} is on the installed version already: nothing to migrate", soft_wrap=True
        )
    print_json(migration.as_json())
