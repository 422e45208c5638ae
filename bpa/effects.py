"""The engine's idempotency ledger: what each side-effecting connector call returned, by key.

Every side-effecting call a run makes goes through `bpa.runs.context.AuditedConnector`,
which asks this ledger first: a key it holds (a step run again after a crash, a resumed
node replaying its calls) is answered from here and never reaches the connector, whatever
system stands behind it. A key used again for a different request is refused (`Conflict`,
code ``idempotency_key_reused``). The row is written in the same transaction as the call's
`connector_call` audit event, so the trail and the ledger never disagree.

What the ledger cannot cover is a process that dies between the system's effect and that
transaction. Then the trail holds the call's intent without an outcome, and the run's next
attempt asks the connector (`Connector.recorded`) and passes the same key on to the
system, which is why a connector hands its key to every API that accepts one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Connection, Engine, bindparam, insert, select
from sqlmodel import Field, SQLModel

from bpa.db import table_of
from bpa.runs.tables import utcnow
from connectors.base import ActionSpec
from connectors.errors import Conflict

__all__ = ["EffectLedger", "EffectRecord", "LedgerEntry", "fingerprint", "insert_entries"]


class EffectRecord(SQLModel, table=True):
    """One side effect the engine saw succeed: its connector, key, request hash and result."""

    __tablename__ = "bpa_effects"

    connector: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    action: str
    request_hash: str
    response_json: str
    run_id: str | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)


_TABLE = table_of(EffectRecord)
#: The ledger's statements, built once (two per side effect of every run): a key's row,
#: whether a key is there, a new row.
_BY_KEY = (_TABLE.c.connector == bindparam("connector")) & (_TABLE.c.key == bindparam("key"))
_FOUND = select(_TABLE.c.action, _TABLE.c.request_hash, _TABLE.c.response_json).where(_BY_KEY)
_EXISTS = select(_TABLE.c.key).where(_BY_KEY)
_INSERT = insert(_TABLE)


def fingerprint(action: str, request: BaseModel) -> str:
    """The request's identity: the same key must always come with the same request."""
    body = json.dumps(
        {"action": action, "request": request.model_dump(mode="json")}, sort_keys=True
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A row to write with the call's outcome event."""

    connector: str
    key: str
    action: str
    request_hash: str
    response_json: str
    run_id: str | None

    def row(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "key": self.key,
            "action": self.action,
            "request_hash": self.request_hash,
            "response_json": self.response_json,
            "run_id": self.run_id,
            "created_at": utcnow(),
        }


def insert_entries(conn: Connection, entries: Sequence[LedgerEntry]) -> None:
    """Write ledger rows inside the caller's transaction; a row already there (a concurrent
    twin that recorded the same key) is left as it is."""
    for entry in entries:
        exists = conn.execute(_EXISTS, {"connector": entry.connector, "key": entry.key}).first()
        if exists is None:
            conn.execute(_INSERT, entry.row())


class EffectLedger:
    """Reads of the ledger (its rows are written by the run store, with the audit events)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def replay(
        self,
        connector: str,
        spec: ActionSpec,
        key: str,
        request: BaseModel,
        unwritten: LedgerEntry | None = None,
    ) -> Any:
        """The recorded result of `key` (validated as the action's response), `None` when the
        key is new; `Conflict` when it was used for another request. `unwritten`: this key's
        row when the run has it but has not written it yet (bpa/runs/audit.py)."""
        found: Any = unwritten
        if found is None:
            with self.engine.connect() as conn:
                found = conn.execute(_FOUND, {"connector": connector, "key": key}).first()
        if found is None:
            return None
        if found.action != spec.name or found.request_hash != fingerprint(spec.name, request):
            raise Conflict(
                f"idempotency key {key!r} was already used for a different request "
                f"({found.action}); use a new key for a new request",
                code="idempotency_key_reused",
            )
        return TypeAdapter(spec.response).validate_json(found.response_json)

    def recorded(self, connector: str, spec: ActionSpec, key: str) -> Any | None:
        """What `spec`'s action returned for `key`, or None when the ledger holds no success
        of that action under that key."""
        with self.engine.connect() as conn:
            found = conn.execute(_FOUND, {"connector": connector, "key": key}).first()
        if found is None or found.action != spec.name:
            return None
        return TypeAdapter(spec.response).validate_json(found.response_json)

    def entry(
        self,
        connector: str,
        spec: ActionSpec,
        key: str,
        request: BaseModel,
        result: Any,
        run_id: str | None,
    ) -> LedgerEntry:
        return LedgerEntry(
            connector=connector,
            key=key,
            action=spec.name,
            request_hash=fingerprint(spec.name, request),
            response_json=TypeAdapter(spec.response).dump_json(result).decode(),
            run_id=run_id,
        )
