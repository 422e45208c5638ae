"""Persistence helpers for connectors backed by SQL (our mocked systems).

`SqlConnectorMixin` gives a connector a SQLAlchemy engine and one session per action. It also
makes our mocked systems honour idempotency keys the way a well-behaved API does (Stripe's,
say): the system keeps each key with what the call returned, in the same transaction as the
record it made, so a key sent twice makes one record even when the caller crashed before
it saw the first answer. That is the system's side of idempotency; the engine keeps its
own ledger on top (bpa/effects.py), for every connector, whether its system honours keys
or not.

The engine normally comes from the host: a connector class whose constructor takes an
`engine` keyword receives the suite's own engine when its configuration names no database of
its own, and leaves that engine to the host to dispose. Given none, it builds one for its
`database_url` with `make_engine` and disposes it in `aclose`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, create_engine, select

from connectors.base import ActionSpec
from connectors.errors import Conflict, ConnectorError

__all__ = ["IdempotencyRecord", "SqlConnectorMixin", "make_engine", "request_fingerprint"]

_current_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "bpa_connector_session", default=None
)


class IdempotencyRecord(SQLModel, table=True):
    """What a side-effecting action returned for a key, replayed on a repeated call."""

    __tablename__ = "connector_idempotency"

    connector: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    action: str
    request_hash: str
    response_json: str
    created_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))


def request_fingerprint(action: str, request: BaseModel) -> str:
    body = json.dumps(
        {"action": action, "request": request.model_dump(mode="json")}, sort_keys=True
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _configure_sqlite(dbapi_conn: sqlite3.Connection) -> None:
    """Wait for locks, WAL (switched once per file; retried while another connection opening
    the fresh file holds it), foreign keys: the same settings as the suite's engine."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=30000")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0].lower()
        for attempt in range(100 if mode not in ("wal", "memory") else 0):
            try:
                cur.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:
                if attempt == 99:
                    raise
                time.sleep(0.02)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()


def make_engine(url: str) -> Engine:
    """An engine of a connector's own (SQLite: safe for concurrent use; PostgreSQL: pooled)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            _configure_sqlite(dbapi_conn)

        return engine
    return create_engine(url, pool_pre_ping=True)


class SqlConnectorMixin:
    """Mix into a `Connector` whose state lives in SQL tables."""

    name: ClassVar[str]
    engine: Engine
    #: Whether `aclose` disposes the engine (False when the host lent it).
    _owns_engine: bool = True

    if TYPE_CHECKING:

        @classmethod
        def action_specs(cls) -> dict[str, ActionSpec]: ...  # from Connector

    def use_engine(self, database_url: str, engine: Engine | None = None) -> None:
        """Store the host's `engine` if given (the host disposes it), else one of our own."""
        self.engine = engine if engine is not None else make_engine(database_url)
        self._owns_engine = engine is None

    async def aclose(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The action's session: the key's (see `_effect`) inside a side-effecting call,
        otherwise a new one committed here."""
        current = _current_session.get()
        if current is not None and current.get_bind() is self.engine:
            yield current
            return
        with Session(self.engine, expire_on_commit=False) as session:
            yield session
            session.commit()

    def _ledger_lookup(self, session: Session, key: str) -> IdempotencyRecord | None:
        return session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.connector == self.name, IdempotencyRecord.key == key
            )
        ).first()

    async def recorded(self, action: str, idempotency_key: str) -> Any | None:
        """The ledger's answer for the key: written in the same transaction as the effect, so
        a committed effect is always on record and an uncommitted one never is."""
        spec = self.action_specs().get(action)
        if spec is None or not spec.side_effect:
            return None
        with Session(self.engine) as session:
            found = self._ledger_lookup(session, idempotency_key)
        if found is None or found.action != action:
            return None
        return TypeAdapter(spec.response).validate_json(found.response_json)

    async def _effect(
        self,
        spec: ActionSpec,
        key: str,
        request: BaseModel,
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        """Make the call once per key: its record and the key's row commit together."""
        fingerprint = request_fingerprint(spec.name, request)
        adapter: TypeAdapter[Any] = TypeAdapter(spec.response)

        def replay(found: IdempotencyRecord) -> Any:
            if found.request_hash != fingerprint or found.action != spec.name:
                raise Conflict(
                    f"idempotency key {key!r} was already used for a different request "
                    f"({found.action}); use a new key for a new request",
                    code="idempotency_key_reused",
                )
            return adapter.validate_json(found.response_json)

        with Session(self.engine, expire_on_commit=False) as session:
            found = self._ledger_lookup(session, key)
            if found is not None:
                return replay(found)
            token = _current_session.set(session)
            try:
                result = await call()
                session.add(
                    IdempotencyRecord(
                        connector=self.name,
                        key=key,
                        action=spec.name,
                        request_hash=fingerprint,
                        response_json=adapter.dump_json(result).decode(),
                    )
                )
                session.commit()
                return result
            except IntegrityError as exc:
                session.rollback()
                found = self._ledger_lookup(session, key)
                if found is not None:  # a concurrent call with this key won the race
                    return replay(found)
                raise Conflict(
                    f"{spec.name} clashes with an existing record", code="integrity"
                ) from exc
            except ConnectorError:
                session.rollback()
                found = self._ledger_lookup(session, key)
                if found is not None:  # the refusal came from a concurrent twin that succeeded
                    return replay(found)
                raise
            except BaseException:
                session.rollback()
                raise
            finally:
                _current_session.reset(token)
