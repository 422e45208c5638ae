"""E-mail over SMTP through an outbox: a message is written first, then handed to the server.

The outbox row, keyed by the idempotency key, is what makes a send happen at most once per
key: a repeated call finds the row ``sent`` and returns it. A failed attempt leaves the
row ``failed`` and the same call tries again, with the same Message-ID (so mail clients
collapse the copy if a server accepted a message whose acknowledgement was lost).

Without an SMTP host the connector only stores: messages get status ``stored`` (and an
``.eml`` file in ``drop_dir`` if set). That keeps the offline path server-free, and
``health()`` says plainly that nothing is delivered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from sqlalchemy import Engine, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from connectors.base import Done, Irreversible, Undo, action
from connectors.errors import Conflict, ConnectorError, NotFound, Rejected, Transient
from connectors.kinds import MessagingConnector
from connectors.mail._smtp import SmtpSettings, build_message, deliver, probe, sender_address
from connectors.mail.tables import OUTBOX_TABLES, MailOutbox
from connectors.schemas import EmailSend, OutboxMessage, OutboxRef, OutboxSearch
from connectors.sql import IdempotencyRecord, SqlConnectorMixin, request_fingerprint

__all__ = ["MailConfig", "SmtpMailConnector"]


class MailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_url: str = Field(description="SQLAlchemy URL; the mail_outbox table is created here")
    smtp_host: str | None = Field(
        default=None, description="None: store messages in the outbox only, deliver nothing"
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = "support@bpa-suite.invalid"
    from_name: str | None = "Customer Service"
    timeout_s: float = Field(default=10.0, gt=0)
    drop_dir: str | None = Field(default=None, description="also write each message as .eml here")

    @model_validator(mode="after")
    def _sender(self) -> MailConfig:
        if "@" not in parseaddr(self.from_address)[1]:
            raise ValueError(f"from_address is not an e-mail address: {self.from_address!r}")
        return self

    def smtp(self) -> SmtpSettings | None:
        if not self.smtp_host:
            return None
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            security=self.security,
            username=self.username,
            password=self.password,
            timeout_s=self.timeout_s,
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _recall(done: Done[EmailSend, OutboxMessage]) -> OutboxRef | Irreversible:
    """A message still in the outbox is recalled; one a mail server accepted is out."""
    if done.result.status == "sent":
        return Irreversible(f"an e-mail cannot be unsent (accepted at {done.result.sent_at})")
    return OutboxRef(outbox_id=done.result.id)


def _record(row: MailOutbox) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        idempotency_key=row.idempotency_key,
        to=json.loads(row.to_json),
        cc=json.loads(row.cc_json),
        subject=row.subject,
        body=row.body,
        status=row.status,  # type: ignore[arg-type]
        attempts=row.attempts,
        last_error=row.last_error,
        refused=json.loads(row.refused_json),
        message_id=row.message_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sent_at=row.sent_at,
    )


class SmtpMailConnector(SqlConnectorMixin, MessagingConnector):
    """Sends e-mail through a real SMTP server, or only stores it when none is configured."""

    name = "mail"
    config_model = MailConfig

    def __init__(
        self, config: dict[str, Any] | MailConfig, *, engine: Engine | None = None
    ) -> None:
        self.config = MailConfig.model_validate(config)
        self.use_engine(self.config.database_url, engine)
        MailOutbox.metadata.create_all(
            self.engine,
            tables=[*OUTBOX_TABLES, IdempotencyRecord.__table__],  # type: ignore[attr-defined]
        )
        self._smtp = self.config.smtp()
        self._sender = sender_address(self.config.from_address, self.config.from_name)
        self._domain = parseaddr(self.config.from_address)[1].rpartition("@")[2]

    # Reads

    @action()
    async def get_message(self, request: OutboxRef) -> OutboxMessage:
        """One outbox message and its delivery status."""
        with Session(self.engine) as session:
            row = session.get(MailOutbox, request.outbox_id)
            if row is None:
                raise NotFound(f"no outbox message {request.outbox_id!r}", code="unknown_message")
            return _record(row)

    @action()
    async def list_outbox(self, request: OutboxSearch) -> list[OutboxMessage]:
        """Outbox messages, newest first, optionally to one address or in one status."""
        with Session(self.engine) as session:
            query = select(MailOutbox)
            if request.status is not None:
                query = query.where(MailOutbox.status == request.status)
            if request.to is not None:
                query = query.where(col(MailOutbox.to_json).contains(json.dumps(request.to)))
            query = query.order_by(col(MailOutbox.created_at).desc(), col(MailOutbox.id))
            return [_record(row) for row in session.exec(query.limit(request.limit)).all()]

    # Writes

    @action(side_effect=True, undo=Undo("recall_email", _recall))
    async def send_email(self, request: EmailSend, *, idempotency_key: str) -> OutboxMessage:
        """Send an e-mail once per idempotency key; without an SMTP host it is only stored.
        Undone by recalling it while it is not sent; a sent one cannot be undone."""
        key = idempotency_key  # the outbox keeps it: a resend after a crash finds its row
        row = self._queue(key, request)
        if row.status in ("sent", "stored", "recalled"):
            return _record(row)
        if self._smtp is None:
            return _record(self._finish(row.id, status="stored"))
        if not self._claim(row.id):
            raise Transient(
                f"message {row.id} is being sent by another call; ask again shortly",
                code="send_in_progress",
            )
        try:
            message = build_message(
                request,
                sender=self._sender,
                message_id=row.message_id,
                date=row.created_at,
                outbox_id=row.id,
            )
            refused = await asyncio.to_thread(deliver, self._smtp, message)
        except ConnectorError as exc:
            self._finish(row.id, status="failed", error=f"{exc.code}: {exc.message}")
            raise
        except BaseException as exc:
            self._finish(row.id, status="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        return _record(self._finish(row.id, status="sent", refused=sorted(refused)))

    @action(side_effect=True, undo=Irreversible("a recalled message is not sent; send a new one"))
    async def recall_email(self, request: OutboxRef, *, idempotency_key: str) -> OutboxMessage:
        """Take back a message no server has accepted (stored, or failed): it is never sent.
        A sent one is `Rejected` (code ``already_sent``); one being sent is `Transient`."""
        with Session(self.engine) as session:
            result = session.exec(  # type: ignore[call-overload]
                update(MailOutbox)
                .where(
                    col(MailOutbox.id) == request.outbox_id,
                    col(MailOutbox.status).in_(["stored", "failed"]),
                )
                .values(status="recalled", updated_at=_now())
            )
            session.commit()
            row = session.get(MailOutbox, request.outbox_id)
        if row is None:
            raise NotFound(f"no outbox message {request.outbox_id!r}", code="unknown_message")
        if result.rowcount != 1:
            if row.status == "sent":
                raise Rejected(
                    f"message {row.id} was sent; it cannot be recalled", code="already_sent"
                )
            if row.status == "queued":
                raise Transient(
                    f"message {row.id} is being sent; ask again shortly", code="send_in_progress"
                )
            raise Rejected(f"message {row.id} is {row.status}", code="invalid_state")
        if self.config.drop_dir:
            (Path(self.config.drop_dir) / f"{row.id}.eml").unlink(missing_ok=True)
        return _record(row)

    def _queue(self, key: str, request: EmailSend) -> MailOutbox:
        """The outbox row for this key: found (same request only) or written as queued."""
        fingerprint = request_fingerprint("send_email", request)
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.exec(select(MailOutbox).where(MailOutbox.idempotency_key == key)).first()
            if row is None:
                now = _now()
                outbox_id = f"MSG-{uuid.uuid4().hex[:12].upper()}"
                row = MailOutbox(
                    id=outbox_id,
                    idempotency_key=key,
                    request_hash=fingerprint,
                    to_json=json.dumps(request.to),
                    cc_json=json.dumps(request.cc),
                    subject=request.subject,
                    body=request.body,
                    status="queued",
                    message_id=f"<{outbox_id.lower()}@{self._domain}>",
                    raw="",
                    created_at=now,
                    updated_at=now,
                )
                row.raw = build_message(
                    request,
                    sender=self._sender,
                    message_id=row.message_id,
                    date=now,
                    outbox_id=outbox_id,
                ).as_string()
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:  # a concurrent call with this key queued it first
                    session.rollback()
                    row = session.exec(
                        select(MailOutbox).where(MailOutbox.idempotency_key == key)
                    ).one()
            if row.request_hash != fingerprint:
                raise Conflict(
                    f"idempotency key {key!r} was already used for another message",
                    code="idempotency_key_reused",
                )
            return row

    def _claim(self, outbox_id: str) -> bool:
        """Take the row for one attempt; False when another call holds a fresh attempt."""
        now = _now()
        stale = now - dt.timedelta(seconds=3 * self.config.timeout_s + 30)
        with Session(self.engine) as session:
            result = session.exec(  # type: ignore[call-overload]
                update(MailOutbox)
                .where(
                    col(MailOutbox.id) == outbox_id,
                    (col(MailOutbox.status) == "failed")
                    | (
                        (col(MailOutbox.status) == "queued")
                        & ((col(MailOutbox.attempts) == 0) | (col(MailOutbox.updated_at) < stale))
                    ),
                )
                .values(status="queued", attempts=MailOutbox.attempts + 1, updated_at=now)
            )
            session.commit()
            return bool(result.rowcount == 1)

    def _finish(
        self,
        outbox_id: str,
        *,
        status: str,
        error: str | None = None,
        refused: list[str] | None = None,
    ) -> MailOutbox:
        now = _now()
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(MailOutbox, outbox_id)
            assert row is not None
            row.status = status
            row.updated_at = now
            row.last_error = error
            if refused is not None:
                row.refused_json = json.dumps(refused)
            if status == "sent":
                row.sent_at = now
            session.add(row)
            session.commit()
        if status == "stored" and self.config.drop_dir:
            drop = Path(self.config.drop_dir)
            drop.mkdir(parents=True, exist_ok=True)
            (drop / f"{row.id}.eml").write_text(row.raw, encoding="utf-8")
        return row

    async def health(self) -> dict[str, Any]:
        """Delivery mode and outbox counts; in SMTP mode the server must answer a NOOP."""
        with Session(self.engine) as session:
            counts = dict(
                session.exec(
                    select(MailOutbox.status, func.count()).group_by(col(MailOutbox.status))
                ).all()
            )
        if self._smtp is None:
            return {
                "ok": True,
                "mode": "store_only",
                "delivers": False,
                "warning": "no SMTP host configured: messages are stored in the outbox, "
                "NOT delivered",
                "outbox": counts,
            }
        await asyncio.to_thread(probe, self._smtp)
        return {
            "ok": True,
            "mode": "smtp",
            "delivers": True,
            "server": f"{self._smtp.host}:{self._smtp.port}",
            "outbox": counts,
        }
