"""Persistence helpers for connectors backed by SQL (our mocked systems).

`SqlConnectorMixin` gives a connector a SQLAlchemy engine, one session per action (shared
with the idempotency ledger, so the record and its ledger row commit together), and the
`_idempotent` implementation the SDK requires.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, create_engine, select

from connectors.base import ActionSpec
from connectors.errors import Conflict, ConnectorError
from connectors.sqlite import configure_connection

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


def make_engine(url: str) -> Engine:
    """An engine with the SQLite settings that make concurrent use safe (WAL, busy timeout)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            configure_connection(dbapi_conn)

        return engine
    return create_engine(url, pool_pre_ping=True)


class SqlConnectorMixin:
    """Mix into a `Connector` whose state lives in SQL tables."""

    name: ClassVar[str]
    engine: Engine

    if TYPE_CHECKING:

        @classmethod
        def action_specs(cls) -> dict[str, ActionSpec]: ...  # from Connector

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The action's session: reused inside `_idempotent`, otherwise a new one committed here."""
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

    async def _idempotent(
        self,
        spec: ActionSpec,
        key: str,
        request: BaseModel,
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
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
