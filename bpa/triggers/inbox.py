"""Inbound e-mail starts runs: invoices sent as attachments start the invoice flow, other
customer e-mail starts the customer-service flow.

One pass (`InboxTrigger.poll`) fetches the unprocessed messages, records their runs through
the engine's one submit path (`bpa.runs.replies.submit`), and only then marks the messages processed
in the mailbox. Every run's idempotency key is natural: the customer-service flow's own
(the Message-ID), and Message-ID + SHA-256 for each invoice attachment. So a pass that dies
after recording runs but before marking leaves the messages unmarked, and the next pass
finds the same runs by their keys, records nothing new, and marks them: each message starts
its runs exactly once, however often it is read or delivered.

A message that cannot start a run (unreadable, an automatic reply, an input the flow
refuses) is marked processed and skipped, and the reason is reported and logged; a corrupt
attachment still starts its invoice run, which fails with the reason recorded. A reply to
a question a customer-service run waits on (its In-Reply-To or References name our e-mail,
and its sender is the one asked) is that run's answer: the run is queued to carry on
(`StartedRun.resumed`), no new run starts, and a second delivery resumes nothing. Any other
reply starts a new run, which finds the ticket by its In-Reply-To.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bpa.errors import ConfigError, IdempotencyConflict, InvalidInput
from bpa.flows import Flow
from bpa.runs import replies
from bpa.runs.tables import RunStatus
from bpa.triggers._mail import Attachment, MailError, ReadMail, read_mail
from connectors.errors import Conflict, Transient
from connectors.kinds.inbox import InboxConnector
from connectors.schemas.inbox import (
    FetchUnprocessed,
    InboxMessage,
    MarkProcessed,
    WaitForMail,
)

if TYPE_CHECKING:
    from bpa.runs.runner import Runner

__all__ = ["InboxTrigger", "MessageOutcome", "PollReport", "StartedRun", "execute_runs"]

log = logging.getLogger("bpa.inbox")

#: Refusals of one input by the flow or the run store: the message is skipped, not retried.
_REFUSED = (ValidationError, InvalidInput, IdempotencyConflict, MailError, ValueError)


@dataclass
class StartedRun:
    flow: str
    run_id: str
    status: str
    #: False: the run was recorded before (the same message read again).
    created: bool
    #: What started it: "message", or the attachment's display name.
    source: str
    #: The message answered this waiting run, which carries on (no new run).
    resumed: bool = False


@dataclass
class MessageOutcome:
    uid: int
    message_id: str | None
    runs: list[StartedRun] = field(default_factory=list)
    #: Why (part of) the message started no run; any problem marks it skipped as well.
    problems: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> bool:
        return bool(self.problems)

    def as_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "message_id": self.message_id,
            "runs": [vars(run) for run in self.runs],
            "problems": self.problems,
        }


@dataclass
class PollReport:
    mailbox: str
    uidvalidity: int
    messages: list[MessageOutcome]
    #: Unprocessed messages left for the next pass (more than one pass takes).
    remaining: int

    @property
    def runs(self) -> list[StartedRun]:
        return [run for message in self.messages for run in message.runs]

    def as_json(self) -> dict[str, Any]:
        return {
            "mailbox": self.mailbox,
            "uidvalidity": self.uidvalidity,
            "messages": [m.as_json() for m in self.messages],
            "remaining": self.remaining,
            "runs_created": sum(run.created for run in self.runs),
            "runs_found": sum(not run.created for run in self.runs),
            "skipped": sum(m.skipped for m in self.messages),
        }


class InboxTrigger:
    """Turns unprocessed mail into runs, then marks it processed (see the module doc)."""

    def __init__(
        self,
        runner: Runner,
        inbox: InboxConnector,
        *,
        invoice_flow: str = "invoice_processing",
        message_flow: str = "customer_service",
        batch_size: int = 50,
        max_invoices: int = 10,
    ) -> None:
        self.runner = runner
        self.inbox = inbox
        self.invoice_flow = _documents_flow(runner.flow(invoice_flow))
        self.message_flow = _email_flow(runner.flow(message_flow))
        self.batch_size = batch_size
        self.max_invoices = max_invoices

    # -- one pass --------------------------------------------------------------------------
    async def poll(self) -> PollReport:
        """Fetch up to `batch_size` unprocessed messages, record their runs, mark them."""
        batch = await self.inbox.fetch_unprocessed(FetchUnprocessed(limit=self.batch_size))
        outcomes: list[MessageOutcome] = []
        for message in batch.messages:
            # Parsing, storing documents and writing runs: off the event loop.
            outcome = await asyncio.to_thread(self._record, message, batch.mailbox)
            _log(outcome)
            outcomes.append(outcome)
        for skipped in (False, True):
            uids = [o.uid for o in outcomes if o.skipped == skipped]
            if not uids:
                continue
            request = MarkProcessed(uidvalidity=batch.uidvalidity, uids=uids, skipped=skipped)
            try:
                await self.inbox.mark_processed(request, idempotency_key=_mark_key(request))
            except Conflict as exc:
                if exc.code != "uidvalidity_changed":
                    raise
                # The mailbox was recreated meanwhile: the next pass reads these messages
                # under their new UIDs and finds their runs by their keys.
                log.warning("not marked: %s", exc.message)
                return PollReport(batch.mailbox, batch.uidvalidity, outcomes, 1)
        return PollReport(batch.mailbox, batch.uidvalidity, outcomes, batch.remaining)

    def _record(self, message: InboxMessage, mailbox: str) -> MessageOutcome:
        try:
            mail = read_mail(message.raw)
        except MailError as exc:
            return MessageOutcome(message.uid, None, problems=[str(exc)])
        outcome = MessageOutcome(message.uid, mail.message_id)
        if not message.complete:
            outcome.problems.append(
                f"{message.size:,} bytes, over the mailbox's max_message_bytes: not read"
            )
        elif len(mail.invoices) > self.max_invoices:
            outcome.problems.append(
                f"{len(mail.invoices)} invoice attachments, more than "
                f"BPA_INBOX_MAX_INVOICES={self.max_invoices}: split the message"
            )
        elif mail.invoices:
            for attachment in mail.invoices:
                build = functools.partial(self._invoice, mail, attachment, mailbox)
                self._start(outcome, attachment.name, build)
        elif mail.automatic:
            outcome.problems.append(f"not answered: {mail.automatic}")
        elif mail.sender is None:
            outcome.problems.append("no sender address (From) to answer")
        else:
            self._start(outcome, "message", functools.partial(self._message, mail, message.raw))
        return outcome

    def _start(
        self,
        outcome: MessageOutcome,
        source: str,
        build: Callable[[], tuple[Flow, dict[str, Any], str | None]],
    ) -> None:
        try:
            flow, payload, key = build()
            submitted = replies.submit(
                self.runner, flow.name, payload, trigger="inbox", idempotency_key=key
            )
        except _REFUSED as exc:
            outcome.problems.append(f"{source}: {_reason(exc)}")
            return
        run = submitted.run
        outcome.runs.append(
            StartedRun(
                flow.name, run.id, str(run.status), submitted.created, source, submitted.resumed
            )
        )

    def _invoice(
        self, mail: ReadMail, attachment: Attachment, mailbox: str
    ) -> tuple[Flow, dict[str, Any], str | None]:
        """The API's rule for documents: the stored file's reference is the `document`."""
        flow, documents = self.invoice_flow, self.runner.documents
        ref = documents.keep(
            documents.describe(attachment.data, attachment.name, attachment.media_type),
            attachment.data,
        )
        payload: dict[str, Any] = {"document": ref.model_dump(mode="json")}
        if "source" in flow.input_model.model_fields:
            payload["source"] = f"e-mail {mail.identity} in {mailbox}"
        digest = ref.sha256 or hashlib.sha256(attachment.data).hexdigest()
        return flow, payload, f"mail:{mail.identity}:{digest}"

    def _message(self, mail: ReadMail, raw: bytes) -> tuple[Flow, dict[str, Any], str | None]:
        """The flow's own .eml reader builds the input (sender checks included); the file it
        reads is a private temporary copy under a fixed name."""
        flow = self.message_flow
        try:
            with tempfile.TemporaryDirectory(prefix="bpa-inbox-") as folder:
                path = Path(folder) / "message.eml"
                path.write_bytes(raw)
                payload = flow.input_from_file(path, self.runner.documents)
        except _REFUSED:
            raise
        except Exception as exc:  # the flow's reader choked on hostile input
            raise MailError(f"{flow.name} cannot read it ({type(exc).__name__})") from None
        # The flow's natural key (the Message-ID) when it has one, else the message's own.
        return flow, payload, None if flow.run_key else f"mail:{mail.identity}"

    # -- a loop ----------------------------------------------------------------------------
    async def watch(
        self,
        stop: asyncio.Event,
        *,
        interval: float,
        idle: bool,
        on_poll: Callable[[PollReport], Awaitable[None]],
        on_error: Callable[[Exception], None],
    ) -> None:
        """Poll until `stop`: again at once while mail is left, else after news (IMAP IDLE)
        or `interval` seconds. Passing failures (`Transient`) are reported and retried
        after `interval`; anything else ends the loop."""
        while not stop.is_set():
            try:
                report = await self.poll()
            except Transient as exc:
                on_error(exc)
                await _sleep(stop, interval)
                continue
            await on_poll(report)
            if report.remaining:
                continue
            if idle and await self._idle(stop, interval):
                continue
            await _sleep(stop, interval)

    async def _idle(self, stop: asyncio.Event, interval: float) -> bool:
        """Wait with IDLE; False when the server cannot (then the caller sleeps)."""
        waiting = asyncio.ensure_future(
            self.inbox.wait_for_mail(WaitForMail(timeout_s=min(interval, 1500)))
        )
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if waiting not in done:
            waiting.cancel()
            return True
        try:
            return waiting.result().method == "idle"
        except Transient:
            return False


async def execute_runs(runner: Runner, runs: list[StartedRun], concurrency: int) -> None:
    """Execute the queued ones among `runs` here (a found run may still be queued after a
    crash), at most `concurrency` at a time; each updates its `status`."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(started: StartedRun) -> None:
        async with gate:
            run = await runner.execute(started.run_id)
            started.status = str(run.status)

    await asyncio.gather(*(one(r) for r in runs if r.status == RunStatus.queued))


def _documents_flow(flow: Flow) -> Flow:
    if "document" not in flow.input_model.model_fields:
        raise ConfigError(
            f"flow {flow.name!r} takes no document, so it cannot start from an invoice "
            "attachment; set BPA_INBOX_INVOICE_FLOW to a flow that does"
        )
    return flow


def _email_flow(flow: Flow) -> Flow:
    if ".eml" not in flow.input_suffixes or flow.load_input is None:
        raise ConfigError(
            f"flow {flow.name!r} does not read .eml files, so it cannot start from an "
            "e-mail; set BPA_INBOX_MESSAGE_FLOW to a flow that does"
        )
    return flow


def _mark_key(request: MarkProcessed) -> str:
    uids = ",".join(str(uid) for uid in sorted(request.uids))
    digest = hashlib.sha256(uids.encode()).hexdigest()[:16]
    return f"inbox-mark:{request.uidvalidity}:{'skipped' if request.skipped else 'done'}:{digest}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        return f"refused by the flow ({where}: {first['msg']})"
    if isinstance(exc, IdempotencyConflict):
        return "a message with the same Message-ID started a run with other content"
    return str(exc)[:300]


def _log(outcome: MessageOutcome) -> None:
    for run in outcome.runs:
        verb = "started" if run.created else "found earlier"
        log.info(
            "mail uid %s (%s): %s %s run %s", outcome.uid, run.source, verb, run.flow, run.run_id
        )
    for problem in outcome.problems:
        log.warning("mail uid %s skipped: %s", outcome.uid, problem)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
