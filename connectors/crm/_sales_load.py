"""Bulk loading of sales records: the shipped fixtures, imported data sets, synthetic scale-up.

Every path validates rows as the shared schemas first and then inserts them in bulk, so a
fixture, an imported data set and a record written by an action have the same shape.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, String, delete, func, insert, literal, select, true, union_all
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from connectors.crm._sales_tables import (
    SALES_TABLES,
    CrmSAccount,
    CrmSActivity,
    CrmSAgent,
    CrmSContact,
    CrmSOpportunity,
    CrmSProduct,
    table_of,
)
from connectors.errors import Rejected
from connectors.schemas import (
    Account,
    Activity,
    Contact,
    Opportunity,
    Product,
    SalesAgent,
    SalesImportReport,
)

__all__ = [
    "FIXTURE_FILES",
    "clear_sales",
    "insert_records",
    "read_csv_records",
    "scale_up",
    "seed_sales_if_empty",
]

#: The fixture files of the sales half: ``<name>.csv`` with the schema's field names as header.
FIXTURE_FILES: dict[str, tuple[type[BaseModel], Any]] = {
    "accounts": (Account, CrmSAccount),
    "contacts": (Contact, CrmSContact),
    "agents": (SalesAgent, CrmSAgent),
    "products": (Product, CrmSProduct),
    "opportunities": (Opportunity, CrmSOpportunity),
    "activities": (Activity, CrmSActivity),
}
_BATCH = 5000


def read_csv_records(path: Path, schema: type[BaseModel]) -> list[BaseModel]:
    """Rows of a CSV as records; an empty cell is None. A bad row stops the load, naming it."""
    records: list[BaseModel] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            try:
                records.append(
                    schema.model_validate({k: (v if v != "" else None) for k, v in row.items()})
                )
            except ValidationError as exc:
                raise Rejected(
                    f"{path.name} line {line_no}: not a valid {schema.__name__}: "
                    f"{exc.errors(include_url=False)[0]['msg']}",
                    code="invalid_dataset",
                ) from exc
    return records


def insert_records(session: Session, model: Any, records: Iterable[BaseModel]) -> int:
    table = table_of(model)
    rows = [r.model_dump() for r in records]
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(table), rows[start : start + _BATCH])
    return len(rows)


def clear_sales(session: Session) -> None:
    for table in SALES_TABLES:
        session.execute(delete(table))


def _has_sales_data(session: Session) -> bool:
    for model in (CrmSOpportunity, CrmSAccount, CrmSAgent, CrmSProduct):
        if session.execute(select(func.count()).select_from(table_of(model))).scalar_one():
            return True
    return False


def seed_sales_if_empty(engine: Engine, folder: Path) -> SalesImportReport | None:
    """Load ``folder``'s fixture CSVs when the CRM has no sales data; None when it had some.

    All files load in one transaction, so a crash leaves the CRM empty (and seeded on the
    next start) rather than half-seeded and never completed.
    """
    if not folder.is_dir():
        return None
    with Session(engine) as session:
        if _has_sales_data(session):
            return None
        counts: dict[str, int] = {}
        for name, (schema, model) in FIXTURE_FILES.items():
            path = folder / f"{name}.csv"
            records = read_csv_records(path, schema) if path.is_file() else []
            counts[name] = insert_records(session, model, records)
        try:
            session.commit()
        except IntegrityError:  # another process seeded the same database first
            session.rollback()
            return None
    return SalesImportReport.model_validate(counts)


def scale_up(session: Session, factor: int) -> int:
    """Add ``factor - 1`` copies of every opportunity and its activities, with new ids
    (``<id>~<k>``, k = 2..factor): the same pipeline, ``factor`` times as large, for
    measuring how a flow grows with the data. Returns the number of deals added.

    Copies once: a CRM that already holds copies is refused, as copying copies would make
    the factor meaningless.
    """
    if factor < 1:
        raise Rejected("scale factor must be at least 1", code="invalid_request")
    opps, acts = table_of(CrmSOpportunity), table_of(CrmSActivity)
    if session.execute(select(opps.c.id).where(opps.c.id.contains("~")).limit(1)).first():
        raise Rejected(
            "the sales data was already scaled up; import it again", code="invalid_state"
        )
    if factor == 1:
        return 0
    copies = union_all(
        *(select(literal(f"~{k}", String).label("tag")) for k in range(2, factor + 1))
    ).subquery()
    tag = copies.c.tag
    for table, renamed in ((opps, ("id",)), (acts, ("id", "opportunity_id"))):
        columns = [(c + tag).label(c.key) if c.key in renamed else c for c in table.c]
        session.execute(
            insert(table).from_select(
                list(table.c.keys()), select(*columns).select_from(table.join(copies, true()))
            )
        )
    return (factor - 1) * int(
        session.execute(
            select(func.count()).select_from(opps).where(~opps.c.id.contains("~"))
        ).scalar_one()
    )
