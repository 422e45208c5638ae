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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel
from pydantic_core import from_json
from sqlalchemy import Column, Engine, MetaData, String, Table, Text, delete, func, select
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


class Snapshot:
    """The records of one source (a connector name), by record type and id."""

    def __init__(self, engine: Engine, source: str) -> None:
        self.engine = engine
        self.source = source

    def upsert(self, entity: str, records: Sequence[BaseModel], *, seen: str) -> None:
        """Insert or replace `records` (a page as the connector returned it)."""
        if not records:
            return
        rows = [
            {
                "source": self.source,
                "entity": entity,
                "id": r.id,  # type: ignore[attr-defined]
                "updated_at": r.updated_at.isoformat(),  # type: ignore[attr-defined]
                "seen": seen,
                "data": r.model_dump_json(),
            }
            for r in records
        ]
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(_records)
        stmt = stmt.on_conflict_do_update(
            index_elements=["source", "entity", "id"],
            set_={
                "updated_at": stmt.excluded.updated_at,
                "seen": stmt.excluded.seen,
                "data": stmt.excluded.data,
            },
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)

    def sweep(self, entity: str, *, seen: str) -> int:
        """Drop rows the collection `seen` did not read (gone from the CRM); returns how many."""
        stmt = delete(_records).where(
            _records.c.source == self.source,
            _records.c.entity == entity,
            _records.c.seen != seen,
        )
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount or 0)

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
