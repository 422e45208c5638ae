"""The `bpa` command line.

Importing it loads no flow, model or LangGraph: commands import what they use (see
bpa/cli/_common.py), so `bpa --help` and `bpa runs list` answer in a fraction of a second.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer
from rich.table import Table

from bpa.cli import _rollback
from bpa.cli._common import (
    console,
    err,
    listed,
    print_json,
    run_json,
    run_table,
    with_records,
    with_suite,
)
from bpa.cli._lazy import Lazy, LazyGroup
from bpa.cli._versions import runs_migrate
from bpa.runs.status import RunStatus

if TYPE_CHECKING:
    from bpa.suite import Records, Suite

__all__ = ["app"]


class _Commands(LazyGroup):
    """`bpa`: the commands below load their module when invoked (see bpa/cli/_lazy.py)."""

    lazy: ClassVar[Mapping[str, Lazy]] = {
        "demo": Lazy(
            "bpa.cli._demo",
            "demo",
            "Seed the mocked systems and run the sample documents through every flow.",
        ),
        "serve": Lazy(
            "bpa.cli._serve",
            "serve",
            "Serve the HTTP API (docs at /docs), with worker processes executing the runs and a "
            "scheduler firing schedules; Ctrl-C stops them all.",
        ),
        "worker": Lazy(
            "bpa.cli._worker",
            "worker",
            "Execute runs until Ctrl-C: from BPA_BROKER_URL's queue (Celery), else from the "
            "database.",
        ),
        "scheduler": Lazy(
            "bpa.cli._schedules",
            "scheduler",
            "Fire schedules and sweep, until Ctrl-C. Workers (`bpa worker`) execute the runs.",
        ),
        "flows": Lazy(
            "bpa.cli._catalog", "flows_app", "Installed flows (entry-point group bpa.flows)."
        ),
        "connectors": Lazy(
            "bpa.cli._catalog",
            "connectors_app",
            "Installed connectors (entry-point group bpa.connectors).",
        ),
        "schedules": Lazy(
            "bpa.cli._schedules",
            "schedules_app",
            "Run flows on a cron schedule (`bpa scheduler` or `bpa serve` fires them).",
        ),
        "inbox": Lazy(
            "bpa.cli._inbox",
            "inbox_app",
            "Start runs from incoming e-mail: each invoice attachment (PDF, XML, text) starts "
            "invoice_processing, any other e-mail customer_service.",
        ),
        "crm": Lazy("bpa.cli._crm", "crm_app", "Load data into the mocked CRM."),
        "vendors": Lazy(
            "bpa.cli._vendors",
            "vendors_app",
            "The vendor master (CSV import) and the invoice flow's per-vendor memory.",
        ),
        "db": Lazy(
            "bpa.cli._db",
            "db_app",
            "The database of runs, schedules and keys (BPA_DATABASE_URL: SQLite or PostgreSQL).",
        ),
        "audit": Lazy("bpa.cli._audit", "audit_app", "Verify and export the audit trail."),
        "stats": Lazy("bpa.cli._stats", "stats", "Automation health per flow and version."),
        "keys": Lazy(
            "bpa.cli._keys",
            "keys_app",
            "API keys for the HTTP API. Roles: viewer < operator < approver < admin.",
        ),
        "new": Lazy(
            "bpa.cli._new",
            "new_app",
            "Start a connector or flow package that installs and passes its tests as generated.",
        ),
    }


app = typer.Typer(
    cls=_Commands,
    help="BPA Suite: run business flows (invoices, customer service, sales ops) with "
    "approvals and an audit trail. Configuration: BPA_* environment variables (see README).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Inspect runs and their audit trails.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
runs_app.command("migrate")(runs_migrate)
runs_app.command("rollback")(_rollback.rollback)


@app.command()
def run(
    flow: Annotated[str, typer.Argument(help="Flow name, e.g. invoice_processing")],
    input: Annotated[
        Path | None,
        typer.Option(
            "--input",
            "-i",
            exists=True,
            dir_okay=False,
            help="Input file: a document (PDF, .txt, .eml) or JSON input",
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Same key, same run: a repeated call acts once")
    ] = None,
) -> None:
    """Run FLOW on one input and print the result as JSON (exit 1 when the run failed).

    An input that does not fit the flow (malformed JSON, an unknown field) is refused with
    one line and exit code 2, before any run is recorded. A message that answers a run's
    waiting question (a customer's reply) carries that run on instead, and says so."""
    from bpa.cli._inputs import read_input
    from bpa.runs import replies

    async def work(suite: Suite) -> Any:
        spec = suite.runner.flow(flow)
        payload = read_input(spec, input, suite.documents)
        submitted = replies.submit(
            suite.runner, flow, payload, trigger="cli", idempotency_key=idempotency_key
        )
        run = submitted.run
        if submitted.resumed:
            again = " (delivered before)" if submitted.replayed else ""
            err.print(f"this message answers waiting run {run.id}{again}; it carries on")
        if submitted.to_execute:
            return await suite.runner.execute(run.id)
        return run

    result = with_suite(work)
    print_json(run_json(result))
    if result.status in (RunStatus.failed, RunStatus.cancelled):
        raise typer.Exit(1)


@app.command()
def batch(
    flow: Annotated[str, typer.Argument(help="Flow name")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of inputs", exists=True)],
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=64)] = 4,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write one JSON line per input here")
    ] = None,
    idempotency_prefix: Annotated[
        str | None,
        typer.Option(help="Makes the batch idempotent: a re-run returns the earlier runs"),
    ] = None,
) -> None:
    """Run FLOW over many inputs, with a progress bar and a summary by outcome.

    Every input is read and checked first: one that does not fit the flow refuses the
    batch (one line, exit code 2) and no run is recorded."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from bpa.batch import BatchItem, expand_paths, run_batch
    from bpa.cli._inputs import checked_inputs

    async def work(suite: Suite) -> Any:
        spec = suite.runner.flow(flow)
        files = expand_paths(paths, spec.input_suffixes)
        if not files:
            raise FileNotFoundError(f"no inputs ending in {', '.join(spec.input_suffixes)}")
        payloads = checked_inputs(suite.runner, spec, files, suite.documents)
        inputs = [(str(f), p.copy) for f, p in zip(files, payloads, strict=True)]
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        ) as progress:
            task = progress.add_task(f"{flow}", total=len(inputs))

            def done(item: BatchItem) -> None:
                progress.advance(task)

            return await run_batch(
                suite.runner,
                flow,
                inputs,
                concurrency=concurrency,
                key_prefix=idempotency_prefix,
                on_done=done,
            )

    result = with_suite(work)
    if output:
        with output.open("w", encoding="utf-8") as fh:
            for item in result.items:
                fh.write(json.dumps(item.as_json(), default=str, ensure_ascii=False) + "\n")
    table = Table(title=f"batch {result.batch_id}: {len(result.items)} inputs")
    table.add_column("status")
    table.add_column("reason")
    table.add_column("count", justify="right")
    for (status, reason), count in sorted(result.summary().items()):
        table.add_row(status, reason, str(count))
    console.print(table)
    if output:
        console.print(f"results: {output}")


@runs_app.command("list")
def runs_list(
    flow: Annotated[str | None, typer.Option(help="Only this flow")] = None,
    status: Annotated[RunStatus | None, typer.Option(help="Only this status")] = None,
    batch_id: Annotated[str | None, typer.Option("--batch", help="Only this batch")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """List runs, newest first."""

    def work(records: Records) -> Any:
        runs = records.store.list_runs(flow=flow, status=status, batch_id=batch_id, limit=limit)
        total = records.store.count_runs(flow=flow, status=status, batch_id=batch_id)
        return runs, total

    runs, total = with_records(work)
    if as_json:
        print_json([run_json(r) for r in runs])
    else:
        console.print(run_table(runs, title=listed(len(runs), total, "runs")))


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text")] = False,
) -> None:
    """Show one run: input, output, error, pending question and its audit trail."""

    def work(records: Records) -> Any:
        run = records.store.get(run_id)
        return run, records.store.events(run_id), records.store.approvals(run_id)

    run, events, approvals = with_records(work)
    if as_json:
        print_json(
            {
                **run_json(run),
                "input": run.input,
                "approvals": [a.model_dump(mode="json") for a in approvals],
                "events": [e.model_dump(mode="json") for e in events],
            }
        )
        return
    console.print(run_table([run]))
    if run.error:
        console.print(f"[red]error[/red] {run.error.get('code')}: {run.error.get('message')}")
    console.print_json(data=run.output or {}, default=str)
    for approval in approvals:
        console.print(
            f"[bold]question[/bold] {approval.id} ({approval.status}): "
            f"{approval.question.get('title')}"
        )
        for reason in approval.question.get("reasons", []):
            console.print(f"  - {reason}")
        if approval.decision:
            console.print(f"  decided by {approval.decided_by}: {approval.decision.get('action')}")
    trail = Table(title="audit trail")
    for column in ("time", "kind", "node", "ms", "detail"):
        trail.add_column(column, overflow="fold")
    for event in events:
        trail.add_row(
            event.created_at.strftime("%H:%M:%S.%f")[:-3],
            event.kind,
            event.node or "",
            f"{event.duration_ms:.1f}" if event.duration_ms is not None else "",
            _event_detail(event.kind, event.payload),
        )
    console.print(trail)


def _event_detail(kind: str, payload: dict[str, Any]) -> str:
    if kind == "model_call":
        return (
            f"{payload.get('task')} {payload.get('name')} on {payload.get('backend')}"
            f"/{payload.get('model')} ok={payload.get('ok')}"
        )
    if kind == "connector_call":
        return f"{payload.get('connector')}.{payload.get('action')} ok={payload.get('ok')}" + (
            f" key={payload['idempotency_key']}" if payload.get("idempotency_key") else ""
        )
    if kind == "node_finished":
        return ", ".join(sorted((payload.get("update") or {}).keys()))
    return json.dumps(payload, default=str)[:160]


@app.command()
def approve(
    run_id: Annotated[str, typer.Argument(help="The waiting run")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve")] = False,
    comment: Annotated[str | None, typer.Option(help="Why; kept in the audit trail")] = None,
    correct: Annotated[
        list[str] | None,
        typer.Option("--correct", help="FIELD=VALUE: correct a field and re-validate"),
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Who decides (default: cli:<your user name>)")
    ] = None,
) -> None:
    """Answer a waiting run: approve (default), --reject, or --correct FIELD=VALUE.

    An answer the run's question does not take (an action it does not offer, a field it
    cannot correct, a value of the wrong type) is refused with one line, and nothing is
    recorded."""
    from bpa.auth import Principal, Role
    from bpa.cli._answers import check_answer, explain_refusal, parse_corrections
    from bpa.errors import InvalidDecision

    # Whoever runs the CLI works on the database directly: an admin's reach.
    who = Principal(name=f"cli:{getpass.getuser()}", role=Role.admin)

    async def work(suite: Suite) -> Any:
        corrections = parse_corrections(correct or [])
        if corrections and reject:
            raise InvalidDecision("--reject and --correct answer differently: give one of them")
        action = "correct" if corrections else "reject" if reject else "approve"
        decision: dict[str, Any] = {"action": action, "comment": comment}
        if corrections:
            decision["corrections"] = corrections
        check_answer(suite.store, run_id, action, corrections)
        try:
            return await suite.runner.resume(run_id, decision, by=by or who.name, actor=who)
        except InvalidDecision as exc:
            raise InvalidDecision(explain_refusal(exc, corrections)) from None

    result = with_suite(work)
    print_json(run_json(result))
    if result.status == RunStatus.failed:
        raise typer.Exit(1)
