"""Faults survived: invoice and customer-service runs with faults injected on every connector.

    python benchmarks/faults.py [--quick] [--invoices 200] [--messages 100] [--fault-rate 0.2]

The same inputs go through the engine twice in this process, each time in a fresh home
(fresh mocked systems, seeded from fixtures/): first fault-free, then with `--fault-rate`
of the calls to every connector (accounting, crm, ticketing, mail) failing, in equal
shares: 5xx-like errors, timeouts (a hang, then no answer), 429s with a Retry-After, and
crashes after the effect (the action takes effect, its reply is lost), plus a little added
latency (connectors/faults.py). Both times the connectors have the same resilience
(bpa/resilience.py: retries with back-off honouring Retry-After, a circuit breaker), the
runs are executed by an `Executor` (4 at a time), a real SMTP server (aiosmtpd) receives
the mail, and the benchmark approves every run that waits for an approval, as a
supervisor would.

Inputs: the invoice documents of fixtures/invoices (corrupt and not-an-invoice ones
included), then synthetic text invoices from the fixture vendor master up to `--invoices`;
customer messages written like fixtures/customer_service/messages about the fixture CRM's
customers and orders (cancellations, returns, order status, strangers, an injection).

Prints, for each arm, how runs ended (succeeded, waiting for a person with the question,
waiting for a connector, failed with their reason), the faults dealt, the retries and
circuit-breaker trips (from the audit trail and the guards), the records each mocked system
gained and the duplicates among them (bills, journal entries, tickets, ticket comments,
refunds, tasks, e-mails: a natural key that gained more than one record), and the slowdown:
the faulty arm's wall time over the fault-free one's. Exit status 1 when a duplicate was
found, a run ended without a reason or still waits for a connector.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cs_messages import customer_messages
from _synthetic_invoices import FIXTURES, synthetic_invoices

from bpa.config import Settings
from bpa.executor import Executor
from bpa.runs.decisions import queue_decision
from bpa.runs.leases import UNAVAILABLE
from bpa.runs.tables import Run, RunEvent, RunStatus
from bpa.suite import Suite
from flows.customer_service import flow as cs_flow
from flows.invoice_processing import flow as invoice_flow

console = Console()
CONNECTORS = ("accounting", "crm", "ticketing", "mail")
#: Records whose natural key should gain at most one row per run: (label, SQL giving each
#: key and its number of rows). Keys that gained more than one row are duplicates.
RECORDS = {
    "bills": "SELECT vendor_id || '|' || invoice_key, COUNT(*) FROM acct_bills GROUP BY 1",
    "journal entries": "SELECT COALESCE(source, id) || '|' || COALESCE(reverses, ''), COUNT(*) "
    "FROM acct_journal_entries GROUP BY 1",
    "tickets": "SELECT COALESCE(external_ref, id), COUNT(*) FROM tkt_tickets GROUP BY 1",
    "ticket comments": "SELECT ticket_id || '|' || visibility || '|' || body, COUNT(*) "
    "FROM tkt_comments GROUP BY 1",
    "refunds": "SELECT order_id || '|' || payment_method_id || '|' || amount, COUNT(*) "
    "FROM crm_order_payments WHERE transaction_type = 'refund' GROUP BY 1",
    "tasks": "SELECT related_type || '|' || related_id || '|' || subject, COUNT(*) "
    "FROM crm_tasks GROUP BY 1",
    "e-mails": "SELECT to_json || '|' || subject || '|' || body, COUNT(*) FROM mail_outbox "
    "GROUP BY 1",
}


class Inbox:
    """An aiosmtpd handler counting the messages it receives, by Message-ID."""

    def __init__(self) -> None:
        self.message_ids: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.original_content)
        self.message_ids[str(headers.get("Message-ID", ""))] += 1
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class Outcome:
    label: str
    wall_s: float = 0.0
    runs: Counter[tuple[str, str]] = field(default_factory=Counter)
    unexplained: list[str] = field(default_factory=list)
    parked: int = 0
    approved: int = 0
    calls: int = 0
    retries: int = 0
    retried: Counter[str] = field(default_factory=Counter)
    trips: int = 0
    waits: int = 0
    resumed: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    gained: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    smtp_received: int = 0
    smtp_duplicates: int = 0
    timed_out: bool = False


def settings_for(home: Path, port: int, args: argparse.Namespace, faults: bool) -> Settings:
    resilience = {
        "attempts": args.attempts,
        "backoff_initial_s": 0.02,
        "backoff_max_s": 0.5,
        "max_retry_after_s": 2.0,
        "breaker_threshold": args.breaker_threshold,
        "breaker_reset_s": args.breaker_reset,
    }
    share = args.fault_rate / 4
    connectors: dict[str, dict[str, Any]] = {}
    for n, name in enumerate(CONNECTORS):
        entry: dict[str, Any] = {"resilience": resilience}
        if faults:
            entry["faults"] = {
                "error_rate": share,
                "timeout_rate": share,
                "rate_limited_rate": share,
                "crash_after_effect_rate": share,
                "latency_ms": [0, 3],
                "timeout_ms": 50,
                "retry_after_s": 0.05,
                "seed": args.seed + n,
            }
        connectors[name] = entry
    connectors["mail"].update(smtp_host="127.0.0.1", smtp_port=port)
    return Settings(  # type: ignore[call-arg]
        _env_file=None, home=home, fixtures_dir=FIXTURES, connectors=connectors
    )


def invoice_inputs(count: int, suite: Suite) -> list[dict[str, Any]]:
    folder = FIXTURES / "invoices"
    files = sorted(
        p
        for p in [*folder.iterdir(), *(folder / "bad").iterdir()]
        if p.suffix.lower() in (".pdf", ".txt", ".eml")
    )[:count]
    inputs = [invoice_flow.load_input(path, suite.documents) for path in files]
    texts = synthetic_invoices(max(0, count - len(inputs)), seed=17)
    return inputs + [{"text": t, "source": "synthetic"} for t in texts]


def interleave(first: list[Any], second: list[Any]) -> list[Any]:
    """Both lists mixed evenly, so that both flows run side by side throughout."""
    step = max(1, round(len(first) / len(second))) if second else len(first)
    out: list[Any] = []
    for n, item in enumerate(second):
        out.extend(first[n * step : (n + 1) * step])
        out.append(item)
    out.extend(first[len(second) * step :])
    return out


def record_counts(suite: Suite) -> dict[str, Counter[str]]:
    with suite.engine.connect() as conn:
        return {
            label: Counter({str(k): int(n) for k, n in conn.execute(text(sql))})
            for label, sql in RECORDS.items()
        }


def unsettled(suite: Suite) -> int:
    """Runs still to go: queued, running, or waiting for a connector."""
    parked = (Run.status == RunStatus.waiting) & (
        Run.error["code"].as_string() == UNAVAILABLE  # type: ignore[index]
    )
    query = select(func.count()).where(
        (Run.status.in_([RunStatus.queued, RunStatus.running])) | parked  # type: ignore[attr-defined]
    )
    with suite.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


async def settle(suite: Suite, total: int, deadline: float, progress: Progress, task: Any) -> bool:
    while True:
        left = unsettled(suite)
        progress.update(task, completed=total - left)
        if left == 0:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)


def approve_waiting(suite: Suite) -> int:
    """Play the approver: every run waiting for a question that takes `approve` gets it."""
    approved = 0
    for run in suite.store.list_runs(status=RunStatus.waiting, limit=100_000):
        approval = suite.store.pending_approval(run.id)
        if approval is None or "approve" not in approval.question.get("actions", []):
            continue
        queue_decision(suite.runner, run.id, {"action": "approve"}, by="benchmark")
        approved += 1
    return approved


async def run_arm(
    label: str, args: argparse.Namespace, work: Path, faults: bool, warm: bool = False
) -> Outcome:
    outcome = Outcome(label)
    with smtp_server() as (inbox, port):
        settings = settings_for(work / label.replace(" ", "_"), port, args, faults)
        async with Suite.open(settings) as suite:
            await suite.runner.models.backend.warm_up(  # type: ignore[attr-defined]
                [*invoice_flow.classify_tasks, *cs_flow.classify_tasks]
            )
            invoices = [(invoice_flow.name, p) for p in invoice_inputs(args.invoices, suite)]
            messages = [(cs_flow.name, m) for m in customer_messages(args.messages)]
            inputs = interleave(invoices, messages)
            before = record_counts(suite)
            executor = Executor(suite.runner, concurrency=args.concurrency, poll_interval=0.05)
            deadline = time.monotonic() + args.timeout
            columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(
                f"[bold]{label}[/bold]", *columns, console=console, transient=True
            ) as progress:
                task = progress.add_task(label, total=len(inputs))
                started = time.perf_counter()
                for flow_name, payload in inputs:
                    suite.runner.submit(flow_name, payload, trigger="benchmark")
                await executor.start()
                try:
                    settled = await settle(suite, len(inputs), deadline, progress, task)
                    if settled and not warm:
                        outcome.approved = approve_waiting(suite)
                        settled = await settle(suite, len(inputs), deadline, progress, task)
                finally:
                    await executor.stop()
                outcome.wall_s = time.perf_counter() - started
            outcome.timed_out = not settled
            after = record_counts(suite)
            collect(outcome, suite, before, after)
            outcome.smtp_received = sum(inbox.message_ids.values())
            outcome.smtp_duplicates = sum(n - 1 for n in inbox.message_ids.values() if n > 1)
    return outcome


def collect(
    outcome: Outcome,
    suite: Suite,
    before: dict[str, Counter[str]],
    after: dict[str, Counter[str]],
) -> None:
    for run in suite.store.list_runs(limit=100_000):
        error = run.error or {}
        if run.status == RunStatus.waiting and error.get("code") == UNAVAILABLE:
            reason, outcome.parked = UNAVAILABLE, outcome.parked + 1
        elif run.status == RunStatus.waiting:
            approval = suite.store.pending_approval(run.id)
            reason = f"question: {approval.question.get('kind')}" if approval else ""
        elif run.status == RunStatus.failed:
            reason = str(error.get("code") or "")
        else:
            reason = ""
        if run.status != RunStatus.succeeded and not reason:
            outcome.unexplained.append(run.id)
        short = "invoice" if run.flow == invoice_flow.name else "customer service"
        outcome.runs[(short, f"{run.status}" + (f" ({reason})" if reason else ""))] += 1
    kinds = ("connector_call", "connector_breaker_opened", "waiting", "resumed")
    query = select(RunEvent.kind, RunEvent.payload).where(RunEvent.kind.in_(kinds))  # type: ignore[attr-defined]
    with suite.engine.connect() as conn:
        for kind, payload in conn.execute(query):
            payload = json.loads(payload) if isinstance(payload, str) else payload
            if kind == "connector_call":
                outcome.calls += 1
                outcome.retries += len(payload.get("retried") or [])
                outcome.retried.update(payload.get("retried") or [])
            elif kind == "connector_breaker_opened":
                outcome.trips += 1
            elif kind == "waiting" and payload.get("reason") == UNAVAILABLE:
                outcome.waits += 1
            elif kind == "resumed" and payload.get("waited_for"):
                outcome.resumed += 1
    for injector in suite.faults.values():
        for kind, n in injector.injected.items():
            outcome.faults[kind] += n
    for label in RECORDS:
        grown = {k: after[label][k] - before[label].get(k, 0) for k in after[label]}
        outcome.gained[label] = sum(n for n in grown.values() if n > 0)
        outcome.duplicates[label] = sum(n - 1 for n in grown.values() if n > 1)
    outcome.trips = max(outcome.trips, sum(g.stats.trips for g in suite.guards.values()))


def report(clean: Outcome, faulty: Outcome, args: argparse.Namespace) -> bool:
    runs = Table(title="how the runs ended")
    for column in ("flow", "status (reason)", clean.label, faulty.label):
        runs.add_column(column, justify="left" if column != faulty.label else "right")
    for key in sorted(set(clean.runs) | set(faulty.runs)):
        runs.add_row(*key, str(clean.runs.get(key, 0)), str(faulty.runs.get(key, 0)))
    console.print(runs)

    survived = Table(title="faults and what the engine did about them")
    survived.add_column("")
    for arm in (clean, faulty):
        survived.add_column(arm.label, justify="right")
    rows = [
        ("faults dealt", lambda o: _counts(o.faults) or "0"),
        ("connector calls (audited)", lambda o: str(o.calls)),
        ("retries", lambda o: f"{o.retries} ({_counts(o.retried)})" if o.retries else "0"),
        ("circuit-breaker trips", lambda o: str(o.trips)),
        ("runs parked (connector_unavailable)", lambda o: str(o.waits)),
        ("  ... resumed by themselves", lambda o: str(o.resumed)),
        ("approvals given by the benchmark", lambda o: str(o.approved)),
        ("wall time", lambda o: f"{o.wall_s:.1f} s"),
    ]
    for title, show in rows:
        survived.add_row(title, *(show(o) for o in (clean, faulty)))
    console.print(survived)

    records = Table(title="records the mocked systems gained (and duplicates among them)")
    for column in ("record", f"{clean.label}", f"{faulty.label}", "duplicates"):
        records.add_column(column, justify="right")
    for label in RECORDS:
        records.add_row(
            label,
            str(clean.gained[label]),
            str(faulty.gained[label]),
            f"{clean.duplicates[label]} / {faulty.duplicates[label]}",
        )
    records.add_row(
        "SMTP deliveries",
        str(clean.smtp_received),
        str(faulty.smtp_received),
        f"{clean.smtp_duplicates} / {faulty.smtp_duplicates}",
    )
    console.print(records)

    duplicates = sum(faulty.duplicates.values()) + faulty.smtp_duplicates
    duplicates += sum(clean.duplicates.values()) + clean.smtp_duplicates
    problems = []
    if duplicates:
        problems.append(f"{duplicates} duplicated record(s)")
    for arm in (clean, faulty):
        if arm.unexplained:
            problems.append(f"{arm.label}: {len(arm.unexplained)} run(s) without a reason")
        if arm.parked or arm.timed_out:
            problems.append(f"{arm.label}: runs still waiting for a connector after the timeout")
    ratio = faulty.wall_s / clean.wall_s
    total = args.invoices + args.messages
    console.print(
        f"slowdown with {args.fault_rate:.0%} of connector calls failing: [bold]{ratio:.2f}x"
        f"[/bold] ({faulty.wall_s:.1f} s vs {clean.wall_s:.1f} s for the same {total} inputs"
        f", {args.concurrency} runs at a time); duplicates: [bold]{duplicates}[/bold]"
    )
    if problems:
        console.print("[red]" + "; ".join(problems) + "[/red]")
    else:
        console.print("[green]every run ended succeeded, waiting or failed with a reason[/green]")
    return not problems


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {n}" for k, n in counter.most_common())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=200, help="invoice runs (default 200)")
    parser.add_argument("--messages", type=int, default=100, help="customer messages (100)")
    parser.add_argument("--quick", action="store_true", help="40 invoices and 20 messages")
    parser.add_argument(
        "--fault-rate", type=float, default=0.2, help="share of calls that fail (0.2)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="runs at a time (4)")
    parser.add_argument("--attempts", type=int, default=4, help="tries per connector call (4)")
    parser.add_argument(
        "--breaker-threshold", type=int, default=3, help="failed tries in a row that open it (3)"
    )
    parser.add_argument(
        "--breaker-reset", type=float, default=1.0, help="seconds a breaker stays open (1.0)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault draws (1)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per arm (900)")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.messages = 40, 20
    if not 0 <= args.messages <= 240 or args.invoices < 0 or not args.invoices + args.messages:
        parser.error("--messages takes 0 to 240 (the fixture CRM's orders), --invoices 0 or more")
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate is a share of the calls, from 0 to 1")
    console.print(
        f"{args.invoices} invoice runs and {args.messages} customer-service runs; faults on "
        f"{', '.join(CONNECTORS)}: {args.fault_rate:.0%} of calls (errors, timeouts, 429s, "
        f"crashes after the effect in equal shares); retries: {args.attempts} tries; breaker: "
        f"{args.breaker_threshold} failed tries in a row, open {args.breaker_reset:g} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        warm = argparse.Namespace(**{**vars(args), "invoices": 4, "messages": 4})
        asyncio.run(run_arm("warm-up", warm, work, faults=False, warm=True))
        clean = asyncio.run(run_arm("fault-free", args, work, faults=False))
        faulty = asyncio.run(run_arm("with faults", args, work, faults=True))
    sys.exit(0 if report(clean, faulty, args) else 1)


if __name__ == "__main__":
    main()
