"""An IMAP mailbox as an inbox: new mail is fetched, handled mail carries a keyword.

The mark lives in the mailbox (an IMAP keyword, ``$BpaProcessed`` by default), so it is
shared by every process reading the mailbox and survives restarts; setting it twice changes
nothing, which makes `mark_processed` idempotent by nature: the idempotency key needs no
ledger here (IMAP has no place for one). Messages are only read with
``BODY.PEEK`` (their \\Seen flag stays as it was) and never deleted or moved.

imaplib blocks: every call runs in a worker thread (`asyncio.to_thread`), one at a time on
one connection, which is opened on first use, re-opened once when it broke, and closed by
`aclose`.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from connectors.base import action
from connectors.errors import Rejected, Transient
from connectors.imap._session import ImapSession, ImapSettings
from connectors.kinds.inbox import InboxConnector
from connectors.schemas.inbox import (
    FetchUnprocessed,
    InboxBatch,
    InboxMessage,
    MailWait,
    Marked,
    MarkProcessed,
    UnmarkProcessed,
    WaitForMail,
)

__all__ = ["ImapConfig", "ImapInboxConnector"]

T = TypeVar("T")
_KEYWORD = re.compile(r"^\$?[A-Za-z0-9_.-]{1,64}$")
NOT_CONFIGURED = (
    'no IMAP mailbox is configured: set BPA_CONNECTORS=\'{"imap": {"host": '
    '"imap.example.com", "username": "invoices@example.com", "password": "..."}}\''
)


class ImapConfig(BaseModel):
    """Where the mailbox is and how to log in. Without `host` nothing is read."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(default=None, description="None: no mailbox is read")
    port: int | None = Field(default=None, ge=1, le=65535, description="default: 993, or 143")
    security: Literal["ssl", "starttls", "none"] = "ssl"
    tls_verify: bool = Field(default=True, description="check the server's TLS certificate")
    username: str | None = Field(default=None, validate_default=True)
    password: SecretStr | None = Field(default=None, validate_default=True)
    mailbox: str = Field(default="INBOX", min_length=1, max_length=200)
    processed_keyword: str = "$BpaProcessed"
    skipped_keyword: str = "$BpaSkipped"
    max_message_bytes: int = Field(
        default=25 * 1024 * 1024,
        gt=0,
        description="a larger message is not downloaded: only its header is read",
    )
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    use_idle: bool = Field(default=True, description="wait for mail with IMAP IDLE if offered")

    @field_validator("processed_keyword", "skipped_keyword")
    @classmethod
    def _keyword(cls, value: str) -> str:
        if not _KEYWORD.match(value):
            raise ValueError("a keyword is 1-64 letters, digits, '_', '.' or '-' (after a '$')")
        return value

    @field_validator("mailbox")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        if not value.isascii() or not value.isprintable():
            raise ValueError("the mailbox name must be printable ASCII (e.g. INBOX or INBOX/Bills)")
        return value

    @field_validator("username", "password")
    @classmethod
    def _needed_with_host(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("host") and not (
            value.get_secret_value() if isinstance(value, SecretStr) else value
        ):
            raise ValueError("needed when a host is set")
        return value

    @field_validator("skipped_keyword")
    @classmethod
    def _distinct(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("processed_keyword"):
            raise ValueError("must differ from processed_keyword")
        return value

    def settings(self) -> ImapSettings | None:
        if not self.host:
            return None
        assert self.username is not None and self.password is not None
        return ImapSettings(
            host=self.host,
            port=self.port or (993 if self.security == "ssl" else 143),
            security=self.security,
            username=self.username,
            password=self.password,
            mailbox=self.mailbox,
            timeout_s=self.timeout_s,
            tls_verify=self.tls_verify,
        )


class ImapInboxConnector(InboxConnector):
    """Reads a mailbox over IMAP (stdlib imaplib) and marks handled mail with a keyword."""

    name = "imap"
    config_model = ImapConfig

    config: ImapConfig

    def __init__(self, config: ImapConfig | Mapping[str, Any]) -> None:
        super().__init__(config)  # validated: a bad config is a one-line ConnectorConfigError
        self._settings = self.config.settings()
        self._session: ImapSession | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()

    @property
    def configured(self) -> bool:
        return self._settings is not None

    @property
    def where(self) -> str:
        """The mailbox as people name it (no credentials)."""
        if self._settings is None:
            return "no mailbox"
        return f"{self._settings.mailbox} on {self._settings.describe()}"

    # -- plumbing ----------------------------------------------------------------------------
    def _keywords(self) -> tuple[str, ...]:
        return (self.config.processed_keyword, self.config.skipped_keyword)

    async def _run(self, work: Callable[[ImapSession], T], *, retry: bool = True) -> T:
        if self._settings is None:
            raise Rejected(NOT_CONFIGURED, code="not_configured")
        return await asyncio.to_thread(self._with_session, work, retry)

    def _with_session(self, work: Callable[[ImapSession], T], retry: bool) -> T:
        assert self._settings is not None
        with self._lock:
            for attempt in (1, 2):
                if self._closing.is_set():
                    raise Transient("the IMAP connector is closing", code="closing")
                try:
                    if self._session is None:
                        self._session = ImapSession(self._settings)
                    result = work(self._session)
                    self._session.settle()
                    return result
                except Transient:
                    self._drop()
                    if attempt == 2 or not retry:
                        raise
                except BaseException:
                    self._drop()
                    raise
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- reads -------------------------------------------------------------------------------
    @action()
    async def fetch_unprocessed(self, request: FetchUnprocessed) -> InboxBatch:
        """The oldest messages not marked processed (read with PEEK: nothing changes)."""
        keyword, limit = self.config.processed_keyword, request.limit
        max_bytes = self.config.max_message_bytes

        def work(session: ImapSession) -> InboxBatch:
            uidvalidity = session.select(self._keywords())
            uids = session.unmarked(keyword)
            chosen = uids[:limit]
            sizes = session.sizes(chosen) if chosen else {}
            messages: list[InboxMessage] = []
            for uid in chosen:
                if uid not in sizes:  # expunged meanwhile
                    continue
                message = session.fetch(uid, sizes[uid], max_bytes)
                if message is not None:
                    messages.append(message)
            return InboxBatch(
                mailbox=session.settings.mailbox,
                uidvalidity=uidvalidity,
                messages=messages,
                remaining=len(uids) - len(chosen),
            )

        return await self._run(work)

    @action()
    async def wait_for_mail(self, request: WaitForMail) -> MailWait:
        """Wait for new mail with IMAP IDLE; returns at once (method none) without it."""
        if not self.config.use_idle:
            return MailWait(news=False, method="none")

        def work(session: ImapSession) -> MailWait:
            session.select(self._keywords())
            news = session.idle(request.timeout_s, self._closing)
            return MailWait(news=bool(news), method="none" if news is None else "idle")

        try:
            return await self._run(work, retry=False)
        except Transient:
            if self._closing.is_set():
                return MailWait(news=False, method="idle")
            raise

    # -- writes ------------------------------------------------------------------------------
    @action(side_effect=True, undo="unmark_processed")
    async def mark_processed(self, request: MarkProcessed, *, idempotency_key: str) -> Marked:
        """Mark messages handled (and skipped, if so): no fetch returns them again."""
        keywords = [self.config.processed_keyword]
        if request.skipped:
            keywords.append(self.config.skipped_keyword)
        return await self._flag(request.uidvalidity, request.uids, keywords, add=True)

    @action(side_effect=True, undo="mark_processed")
    async def unmark_processed(self, request: UnmarkProcessed, *, idempotency_key: str) -> Marked:
        """Take the processed (and skipped) marks back: the messages are fetched again."""
        keywords = list(self._keywords())
        return await self._flag(request.uidvalidity, request.uids, keywords, add=False)

    async def _flag(
        self, uidvalidity: int, uids: list[int], keywords: list[str], *, add: bool
    ) -> Marked:
        def work(session: ImapSession) -> Marked:
            session.require(uidvalidity, self._keywords())
            session.store(uids, keywords, add=add)
            return Marked(
                mailbox=session.settings.mailbox,
                uidvalidity=uidvalidity,
                uids=sorted(set(uids)),
                keywords=keywords,
            )

        return await self._run(work)

    # -- lifecycle ---------------------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        """Without a host: says nothing is read. With one: logs in and counts what waits."""
        if self._settings is None:
            return {
                "ok": True,
                "configured": False,
                "warning": f"{NOT_CONFIGURED}; no mail is read",
            }
        keyword = self.config.processed_keyword

        def work(session: ImapSession) -> dict[str, Any]:
            uidvalidity = session.select(self._keywords())
            return {
                "ok": True,
                "configured": True,
                "mailbox": self.where,
                "uidvalidity": uidvalidity,
                "unprocessed": len(session.unmarked(keyword)),
                "idle": "IDLE" in session.capabilities and self.config.use_idle,
            }

        return await self._run(work)

    async def aclose(self) -> None:
        self._closing.set()
        if self._session is not None:
            await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            self._drop()
