"""The flow's own copy of the CRM's sales records, kept between runs.

Why a table and not LangGraph's cross-run store (`runtime.store`): a review needs the whole
pipeline, but an incremental collection returns only what changed, so the flow must keep
every record it has seen — 10,000 to 100,000 rows and more. The store suits a handful of
small documents (it keeps the watermark, see collect.py): its put is one INSERT statement per
batch (bounded by SQLite's bound-variable limit) and reading a namespace back pages with
OFFSET. A keyed table upserts a page of changed rows in one statement and streams the
snapshot back in one indexed scan, in SQLite and PostgreSQL alike. It lives in the suite's
database (`settings.resolved_database_url()`), beside the runs.

Rows are JSON documents (the connector's record, as the shared schema dumps it) keyed by
(source, entity, id); `seen` names the run that last read the row from the CRM, so a full
refresh can drop what the CRM no longer has.

Two small tables beside it make a review with nothing new cheap:

- `sales_ops_revisions`: per source, a random token replaced in the same transaction as
  any write that changes the snapshot's content (an upsert that writes a row, a sweep that
  drops one). Equal tokens mean equal content, without reading the rows.
- `sales_ops_results`: per source and step, the step's last result and the fingerprint of
  its inputs (the revision and the step's parameters, nodes.py). A step whose fingerprint
  matches reuses the result instead of loading and reading every deal again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel
from pydantic_core import from_json
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bpa.config import Settings
from bpa.db import make_engine

__all__ = ["ENTITIES", "Snapshot", "open_snapshot"]

#: Record types collected, in the order they are read (reference data first).
ENTITIES: tuple[str, ...] = (
    "products", "agents", "accounts", "contacts", "opportunities", "activities",
)  # fmt: skip

_metadata = MetaData()
_records = Table(
    "sales_ops_records",
    _metadata,
    Column("source", String(64), primary_key=True),
    Column("entity", String(32), primary_key=True),
    Column("id", String(128), primary_key=True),
    Column("updated_at", String(40), nullable=False),
    Column("seen", String(64), nullable=False),
    Column("data", Text, nullable=False),
)
_revisions = Table(
    "sales_ops_revisions",
    _metadata,
    Column("source", String(64), primary_key=True),
    Column("revision", String(32), nullable=False),
)
_results = Table(
    "sales_ops_results",
    _metadata,
    Column("source", String(64), primary_key=True),
    Column("step", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("data", Text, nullable=False),
)
#: Ids per `IN (...)` when comparing a page with the stored rows (under every dialect's
#: bound-parameter limit).
_CHUNK = 500
#: The collection's hot statement (100,000+ rows a review), run through the DB-API with
#: plain tuples: SQLAlchemy's per-row parameter handling cost as much as the inserts. The
#: ON CONFLICT form is the same in SQLite and PostgreSQL.
_UPSERT = (
    "INSERT INTO sales_ops_records (source, entity, id, updated_at, seen, data) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (source, entity, id) DO UPDATE SET "
    "updated_at = excluded.updated_at, seen = excluded.seen, data = excluded.data"
)


class Snapshot:
    """The records of one source (a connector name), by record type and id."""

    def __init__(self, engine: Engine, source: str) -> None:
        self.engine = engine
        self.source = source
        marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._upsert_rows = _UPSERT.format(p=marker)

    def _upsert(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        keys = [c.name for c in table.primary_key.columns]
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
        )
        conn.execute(stmt, rows)

    def _changed(self, conn: Connection) -> None:
        """A new revision: the content is no longer what any earlier result was made from."""
        self._upsert(conn, _revisions, [{"source": self.source, "revision": uuid.uuid4().hex}])

    def _stored(self, conn: Connection, entity: str, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            query = select(_records.c.id, _records.c.data).where(
                _records.c.source == self.source,
                _records.c.entity == entity,
                _records.c.id.in_(ids[start : start + _CHUNK]),
            )
            found.update((str(i), str(d)) for i, d in conn.execute(query))
        return found

    def upsert(
        self, entity: str, records: Sequence[BaseModel], *, seen: str, skip_same: bool = False
    ) -> int:
        """Insert or replace `records` (a page as the connector returned it); with
        `skip_same`, leave alone the rows stored exactly so (an incremental collection
        re-reading what it has). Returns how many rows were written."""
        if not records:
            return 0
        source = self.source
        rows = [
            (source, entity, r.id, r.updated_at.isoformat(), seen, r.model_dump_json())  # type: ignore[attr-defined]
            for r in records
        ]
        with self.engine.begin() as conn:
            if skip_same:
                stored = self._stored(conn, entity, [r[2] for r in rows])
                rows = [r for r in rows if stored.get(r[2]) != r[5]]
            if rows:
                conn.exec_driver_sql(self._upsert_rows, rows)  # type: ignore[arg-type]
                self._changed(conn)
        return len(rows)

    def sweep(self, entity: str, *, seen: str) -> int:
        """Drop rows the collection `seen` did not read (gone from the CRM); returns how many."""
        stmt = delete(_records).where(
            _records.c.source == self.source,
            _records.c.entity == entity,
            _records.c.seen != seen,
        )
        with self.engine.begin() as conn:
            removed = int(conn.execute(stmt).rowcount or 0)
            if removed:
                self._changed(conn)
            return removed

    def revision(self) -> str | None:
        """The content's current revision (None before anything was written)."""
        query = select(_revisions.c.revision).where(_revisions.c.source == self.source)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        return str(found) if found is not None else None

    def result(self, step: str, fingerprint: str) -> tuple[dict[str, Any], str] | None:
        """The step's kept result and the run that made it, if made from these inputs."""
        query = select(_results.c.data, _results.c.run_id).where(
            _results.c.source == self.source,
            _results.c.step == step,
            _results.c.fingerprint == fingerprint,
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (from_json(row[0]), str(row[1])) if row is not None else None

    def keep(self, step: str, fingerprint: str, run_id: str, data: str) -> None:
        """Keep a step's result (JSON text), replacing the one it kept before."""
        row = {"source": self.source, "step": step, "fingerprint": fingerprint,
               "run_id": run_id, "data": data}  # fmt: skip
        with self.engine.begin() as conn:
            self._upsert(conn, _results, [row])

    def counts(self) -> dict[str, int]:
        query = (
            select(_records.c.entity, func.count())
            .where(_records.c.source == self.source)
            .group_by(_records.c.entity)
        )
        with self.engine.connect() as conn:
            found = {str(e): int(n) for e, n in conn.execute(query)}
        return {entity: found.get(entity, 0) for entity in ENTITIES}

    def rows(self, entity: str) -> Iterator[dict[str, Any]]:
        """Every record of `entity` as a dict, streamed (ordered by id, for stable output)."""
        query = (
            select(_records.c.data)
            .where(_records.c.source == self.source, _records.c.entity == entity)
            .order_by(_records.c.id)
            .execution_options(yield_per=2000)
        )
        loads = from_json  # pydantic's Rust parser: ~2.5x json.loads on these rows
        with self.engine.connect() as conn:
            for (data,) in conn.execute(query):
                yield loads(data)


@contextmanager
def open_snapshot(settings: Settings, source: str = "crm") -> Iterator[Snapshot]:
    """The snapshot in the suite's database (its table created on first use)."""
    engine = make_engine(settings.resolved_database_url())
    try:
        _metadata.create_all(engine, checkfirst=True)
        yield Snapshot(engine, source)
    finally:
        engine.dispose()
