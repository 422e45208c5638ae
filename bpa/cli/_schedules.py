"""`bpa schedules ...` (define when flows run) and `bpa scheduler` (run them, in the foreground)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bpa.cli._common import console, err, fail, print_json, with_records, with_suite
from bpa.schedules import (
    MisfirePolicy,
    OverlapPolicy,
    Schedule,
    ScheduleError,
    ScheduleNotFound,
    as_utc,
    check_schedule,
    parse_spec,
)
from bpa.suite import Records, Suite

__all__ = ["scheduler", "schedules_app"]

schedules_app = typer.Typer(
    help="Run flows on a cron schedule (`bpa scheduler` or `bpa serve` fires them).",
    no_args_is_help=True,
)


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except (ScheduleError, ScheduleNotFound) as exc:
        fail(str(exc))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScheduleError(
            f"{path.name} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "fix the file"
        ) from None
    except UnicodeDecodeError:
        raise ScheduleError(f"{path.name} is not UTF-8 text; save it as UTF-8 JSON") from None


def _schedule_json(schedule: Schedule) -> dict[str, Any]:
    return schedule.model_dump(mode="json")


def _find(suite: Suite, ref: str) -> Schedule:
    """By id, or by its name (names are unique)."""
    try:
        return suite.schedules.get(ref)
    except ScheduleNotFound:
        named = [s for s in suite.schedules.list() if s.name == ref]
        if named:
            return named[0]
        raise ScheduleNotFound(
            f"no schedule with id or name {ref!r}; `bpa schedules list` shows them"
        ) from None


@schedules_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name people recognise")],
    flow: Annotated[str, typer.Option(help="Flow to run, e.g. invoice_processing")],
    cron: Annotated[str, typer.Option(help='Five-field cron, e.g. "*/5 * * * *"')],
    tz: Annotated[str, typer.Option("--tz", help="IANA timezone the cron is read in")] = "UTC",
    input: Annotated[
        Path | None,
        typer.Option(
            "--input",
            "-i",
            exists=True,
            dir_okay=False,
            help='JSON input; {"batch": [...]} (or a list) runs one run per item',
        ),
    ] = None,
    overlap: Annotated[
        OverlapPolicy, typer.Option(help="While earlier runs are unfinished")
    ] = OverlapPolicy.skip,
    misfire: Annotated[
        MisfirePolicy, typer.Option(help="Firings missed while no scheduler ran")
    ] = MisfirePolicy.run_once,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it switched off")] = False,
) -> None:
    """Add a schedule and print it (with its next firing time)."""

    async def work(suite: Suite) -> Schedule:
        with _user_errors():
            payload = _read_json(input) if input else {}
            parse_spec(name=name, flow=flow, cron=cron, timezone=tz, input=payload)
            check_schedule(suite.runner, flow, payload)
            return suite.schedules.create(
                name=name,
                flow=flow,
                cron=cron,
                timezone=tz,
                input=payload,
                overlap=overlap,
                misfire=misfire,
                enabled=not disabled,
            )

    print_json(_schedule_json(with_suite(work)))


@schedules_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """List schedules with their next firing time (in the schedule's timezone)."""

    def work(records: Records) -> list[Schedule]:
        return records.schedules.list()

    schedules = with_records(work)
    if as_json:
        print_json([_schedule_json(s) for s in schedules])
        return
    table = Table(title=f"{len(schedules)} schedules")
    table.add_column("id", no_wrap=True, min_width=max((len(s.id) for s in schedules), default=2))
    for column in (
        "name",
        "flow",
        "cron",
        "tz",
        "on",
        "overlap",
        "misfire",
        "next firing",
        "last fired",
    ):
        table.add_column(column, overflow="fold")
    for s in schedules:
        table.add_row(
            s.id,
            s.name,
            s.flow,
            s.cron,
            s.timezone,
            "yes" if s.enabled else "no",
            s.overlap,
            s.misfire,
            _local(s.next_fire_at, s.timezone) if s.enabled else "",
            _local(s.last_fired_at, s.timezone),
        )
    console.print(table)


def _local(value: Any, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    if value is None:
        return ""
    return as_utc(value).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


@schedules_app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="Schedule id or name")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Recent firings to show")] = 20,
) -> None:
    """Show a schedule and its recent firings (started, skipped, buffered, missed...)."""

    async def work(suite: Suite) -> dict[str, Any]:
        with _user_errors():
            schedule = _find(suite, ref)
        firings = suite.schedules.firings(schedule.id, limit=limit)
        return {**_schedule_json(schedule), "firings": [f.model_dump(mode="json") for f in firings]}

    print_json(with_suite(work))


@schedules_app.command("rm")
def rm(ref: Annotated[str, typer.Argument(help="Schedule id (or its unique name)")]) -> None:
    """Delete a schedule (runs it started stay)."""

    async def work(suite: Suite) -> Schedule:
        with _user_errors():
            schedule = _find(suite, ref)
            suite.schedules.delete(schedule.id)
            return schedule

    gone = with_suite(work)
    console.print(f"deleted schedule {gone.id} ({gone.name})")


#: How often `bpa scheduler` sweeps for runs whose worker died or whose message was lost.
_SWEEP_EVERY_S = 5.0


def scheduler() -> None:
    """Fire schedules and sweep, until Ctrl-C. Workers (`bpa worker`) execute the runs.

    The sweep frees the runs of workers that died on this machine and, with a broker,
    publishes again the runs whose message was lost. Safe next to other schedulers on the
    same database: each firing is recorded by one process only.
    """
    from bpa.dispatch import make_dispatcher
    from bpa.scheduler import SchedulerLoop
    from bpa.sweeper import Sweeper
    from bpa.worker.supervision import end_with_supervisor

    end_with_supervisor()  # started by `bpa serve`: it ends with it, even killed with -9

    async def work(suite: Suite) -> None:
        settings = suite.settings
        dispatcher = make_dispatcher(settings)
        loop = SchedulerLoop(
            suite.schedules,
            suite.runner,
            dispatcher=dispatcher,
            interval=settings.scheduler_interval_s,
            misfire_grace=settings.scheduler_misfire_grace_s,
        )
        sweeper = Sweeper(suite.store, dispatcher, backoff_s=settings.retry_backoff_s)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await loop.start()
        err.print(
            f"scheduler running as {suite.runner.owner} on {suite.engine.url!r} "
            f"(runs go to workers through the {dispatcher.kind}); Ctrl-C stops it"
        )
        try:
            while not stop.is_set():
                try:
                    await asyncio.to_thread(sweeper.sweep)
                except Exception as exc:  # the database or broker may be briefly away
                    err.print(f"[yellow]sweep failed:[/yellow] {exc}")
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), _SWEEP_EVERY_S)
        finally:
            await loop.stop()
            dispatcher.close()
        err.print("stopped")

    with_suite(work)
