"""`bpa inbox poll|watch`: incoming e-mail starts runs (bpa/triggers/inbox.py)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bpa.cli._common import console, err, print_json, with_suite

if TYPE_CHECKING:
    from bpa.suite import Suite
    from bpa.triggers import InboxTrigger, PollReport

__all__ = ["inbox_app"]

inbox_app = typer.Typer(
    help="Start runs from incoming e-mail: each invoice attachment (PDF, XML, text) starts "
    "invoice_processing, any other e-mail customer_service; a message is marked processed "
    "(IMAP keyword $BpaProcessed) once its runs are recorded. The mailbox: "
    'BPA_CONNECTORS=\'{"imap": {"host": ..., "username": ..., "password": ...}}\'.',
    no_args_is_help=True,
)

QueueOnly = Annotated[
    bool,
    typer.Option(
        "--queue-only",
        help="Only record the runs (queued) for `bpa worker` or `bpa serve` to execute",
    ),
]
Concurrency = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, max=64, help="Runs executed at once here")
]


class _Stop(Exception):
    """A one-line reason to stop, and the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _trigger(suite: Suite) -> InboxTrigger:
    from bpa.triggers import InboxTrigger
    from connectors.kinds.inbox import InboxConnector

    settings = suite.settings
    name = settings.inbox_connector
    if name in suite.connector_problems:
        raise _Stop(f"the {name!r} connector cannot start: {suite.connector_problems[name]}", 2)
    connector = suite.connectors.get(name)
    if connector is None:
        raise _Stop(f"no connector named {name!r} is installed (BPA_INBOX_CONNECTOR)", 2)
    if not isinstance(connector, InboxConnector):
        raise _Stop(
            f"connector {name!r} is a {connector.kind} connector, not an inbox; set "
            "BPA_INBOX_CONNECTOR to an inbox connector such as imap",
            2,
        )
    return InboxTrigger(
        suite.runner,
        connector,
        invoice_flow=settings.inbox_invoice_flow,
        message_flow=settings.inbox_message_flow,
        batch_size=settings.inbox_batch_size,
        max_invoices=settings.inbox_max_invoices,
    )


def _stop_for(exc: Exception, suite: Suite) -> _Stop:
    """A connector error as one line: what to set (exit 2) or what failed (exit 1)."""
    from connectors.errors import AuthError, ConnectorError, Transient

    assert isinstance(exc, ConnectorError)
    message = suite.redactor.text(exc.message)
    name = suite.settings.inbox_connector
    if isinstance(exc, AuthError):
        return _Stop(f"{message}; check username and password in BPA_CONNECTORS ({name})", 2)
    if isinstance(exc, Transient):
        return _Stop(f"{message}; check host, port and security in BPA_CONNECTORS ({name})", 1)
    return _Stop(message, 2)


def _run(work: Callable[[Suite], Awaitable[None]]) -> None:
    """`with_suite`, with `_Stop` as a one-line error and its exit code."""
    try:
        with_suite(work)
    except _Stop as stop:
        err.print(f"[red]error:[/red] {escape(str(stop))}")
        raise typer.Exit(stop.code) from None


def _outcome_rows(report: PollReport) -> Table:
    table = Table(title=f"{report.mailbox}: {len(report.messages)} message(s)")
    for column in ("uid", "message", "what", "flow", "run", "outcome"):
        table.add_column(column, overflow="fold")
    for message in report.messages:  # what the sender wrote is shown, never interpreted
        label = escape(message.message_id or "")
        for run in message.runs:
            outcome = "started" if run.created else "found (recorded earlier)"
            table.add_row(
                str(message.uid),
                label,
                escape(run.source),
                run.flow,
                run.run_id,
                f"{outcome}: {run.status}",
            )
        for problem in message.problems:
            table.add_row(
                str(message.uid), label, "", "", "", f"[yellow]skipped[/]: {escape(problem)}"
            )
    return table


def _summary(report: PollReport) -> str:
    data = report.as_json()
    line = (
        f"{len(report.messages)} message(s): {data['runs_created']} run(s) started, "
        f"{data['runs_found']} found from an earlier pass, {data['skipped']} message(s) skipped"
    )
    if report.remaining:
        line += f"; {report.remaining} more wait (run again)"
    return line


@inbox_app.command("poll")
def poll(
    queue_only: QueueOnly = False,
    concurrency: Concurrency = 4,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """Read the mailbox once: start the new mail's runs, mark it processed, print it all.

    Each new e-mail records one run (one per invoice attachment); then the messages are
    marked processed and the runs execute here (unless --queue-only). Safe to repeat, also
    after a crash: a message read again finds its runs by their keys (Message-ID,
    attachment SHA-256) and starts nothing new.
    """
    from bpa.triggers import execute_runs
    from connectors.errors import ConnectorError

    async def work(suite: Suite) -> None:
        trigger = _trigger(suite)
        try:
            report = await trigger.poll()
        except ConnectorError as exc:
            raise _stop_for(exc, suite) from None
        if queue_only:
            _dispatch(suite, [r.run_id for r in report.runs if r.status == "queued"])
        else:
            await execute_runs(suite.runner, report.runs, concurrency)
        if as_json:
            print_json(report.as_json())
            return
        if report.messages:
            console.print(_outcome_rows(report))
        console.print(_summary(report))

    _run(work)


@inbox_app.command("watch")
def watch(
    interval: Annotated[
        float | None,
        typer.Option(
            min=1,
            help="Seconds between passes (default: BPA_INBOX_INTERVAL_S, 60). With IMAP IDLE "
            "new mail is read at once and this is only the longest wait",
        ),
    ] = None,
    no_idle: Annotated[
        bool, typer.Option("--no-idle", help="Poll every --interval even where IDLE works")
    ] = False,
    queue_only: QueueOnly = False,
    concurrency: Concurrency = 4,
) -> None:
    """Read the mailbox until Ctrl-C: new mail starts its runs as it arrives.

    New mail is seen at once where the server offers IMAP IDLE, else at the next --interval.
    A connection that fails is retried after --interval; a refused login stops (exit 2).
    """
    from bpa.triggers import StartedRun, execute_runs
    from connectors.errors import ConnectorError

    async def work(suite: Suite) -> None:
        trigger = _trigger(suite)
        every = interval or suite.settings.inbox_interval_s
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        running: set[asyncio.Task[None]] = set()
        gate = asyncio.Semaphore(concurrency)

        async def execute(run: StartedRun) -> None:
            async with gate:
                await execute_runs(suite.runner, [run], 1)
            console.print(f"run {run.run_id} ({run.flow}, {escape(run.source)}): {run.status}")

        async def on_poll(report: PollReport) -> None:
            if not report.messages:
                return
            console.print(_summary(report))
            for message in report.messages:
                for problem in message.problems:
                    err.print(f"[yellow]skipped[/yellow] uid {message.uid}: {escape(problem)}")
            if queue_only:
                _dispatch(suite, [r.run_id for r in report.runs if r.status == "queued"])
                return
            for run in report.runs:
                if run.status == "queued":
                    task = asyncio.create_task(execute(run))
                    running.add(task)
                    task.add_done_callback(running.discard)

        def on_error(exc: Exception) -> None:
            reason = suite.redactor.text(str(exc))
            err.print(f"[yellow]pass failed, retrying in {every:g} s:[/yellow] {escape(reason)}")

        err.print(
            f"watching {getattr(trigger.inbox, 'where', trigger.inbox.name)} "
            f"({'polling' if no_idle else 'IDLE where offered'}, every {every:g} s); "
            "Ctrl-C stops"
        )
        try:
            await trigger.watch(
                stop, interval=every, idle=not no_idle, on_poll=on_poll, on_error=on_error
            )
        except ConnectorError as exc:
            raise _stop_for(exc, suite) from None
        finally:
            if running:
                err.print(f"waiting for {len(running)} run(s) to finish (10 s at most)")
                _, late = await asyncio.wait(running, timeout=10)
                for task in late:  # they keep their checkpoints; an executor resumes them
                    task.cancel()
        err.print("stopped")

    _run(work)


def _dispatch(suite: Suite, run_ids: list[str]) -> None:
    from bpa.dispatch import make_dispatcher

    if not run_ids:
        return
    dispatcher = make_dispatcher(suite.settings)
    try:
        dispatcher.dispatch(run_ids)
    finally:
        dispatcher.close()
