"""`bpa audit ...`: check the audit trail's hash chains, and export it for a SIEM.

Both only read the database (`with_records`: no flows, models or connectors load).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

if TYPE_CHECKING:
    from bpa.runs.verify import AuditReport
    from bpa.suite import Records

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="Verify and export the audit trail: every run's events form a hash chain, and run "
    "heads a journal, so an edited, deleted, reordered or inserted event shows.",
    no_args_is_help=True,
)

Since = Annotated[
    dt.datetime | None,
    typer.Option(
        help="Only from this date (or date and time, UTC) on",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
    ),
]


@audit_app.command("verify")
def verify(
    since: Since = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines")] = False,
) -> None:
    """Check every run's events against their hash chain and the journal of run heads.

    Prints one line per finding (run id, position, what: edited, deleted, reordered,
    inserted or run_deleted) and exits 1 when there is any; with --since, only runs created
    and journal entries written from then on are checked."""
    from bpa.cli._common import err, print_json, with_records
    from bpa.runs.verify import verify_audit

    def work(records: Records) -> AuditReport:
        return verify_audit(records.engine, since=since)

    report = with_records(work)
    if as_json:
        print_json(report.as_json())
    else:
        for finding in report.findings:
            typer.echo(finding.line())
        checked = (
            f"{report.runs} runs, {report.events} events, {report.journal_entries} journal "
            "entries checked"
        )
        if report.ok:
            err.print(f"audit trail intact: {checked}", highlight=False)
        else:
            err.print(f"[red]{len(report.findings)} finding(s)[/red]; {checked}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def export(
    since: Since = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write here instead of stdout"),
    ] = None,
) -> None:
    """Write the audit trail as JSON Lines for a SIEM: one event per line, in the order
    written, with its position (seq) and hashes (prev_hash, hash)."""
    from bpa.cli._common import err, with_records
    from bpa.runs.verify import export_events

    def write(records: Records, out: TextIO) -> int:
        count = 0
        for event in export_events(records.engine, since=since):
            out.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
            count += 1
        return count

    def work(records: Records) -> int:
        if output is None:
            return write(records, sys.stdout)
        with output.open("w", encoding="utf-8") as out:
            return write(records, out)

    count = with_records(work)
    if output is not None:
        err.print(f"{count} events written to {output}", highlight=False)
