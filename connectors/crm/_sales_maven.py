"""Import the public "CRM Sales Opportunities" data set (Maven Analytics' CSV format).

Four files: ``sales_pipeline.csv`` (opportunity_id, sales_agent, product, account,
deal_stage, engage_date, close_date, close_value), ``accounts.csv`` (account, sector,
year_established, revenue, employees, office_location, subsidiary_of), ``products.csv``
(product, series, sales_price) and ``sales_teams.csv`` (sales_agent, manager,
regional_office). The set refers to agents, accounts and products by name; the importer
gives each a stable id and keeps every pipeline row as it is, quirks included: a product
name that is not on the price list stays as typed, and a blank account stays blank. A name
the other files do not know (an agent or account) gets a bare record, noted in the report.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from connectors.crm._sales_load import clear_sales, insert_records
from connectors.crm._sales_regions import make_id, region_of, size_band
from connectors.crm._sales_tables import (
    CrmSAccount,
    CrmSAgent,
    CrmSOpportunity,
    CrmSProduct,
    table_of,
)
from connectors.errors import Rejected
from connectors.schemas import Account, Opportunity, Product, SalesAgent, SalesImportReport

__all__ = ["MAVEN_FILES", "import_maven"]

M = TypeVar("M", bound=BaseModel)

MAVEN_FILES: dict[str, tuple[str, ...]] = {
    "sales_pipeline.csv": (
        "opportunity_id", "sales_agent", "product", "account", "deal_stage",
        "engage_date", "close_date", "close_value",
    ),
    "accounts.csv": (
        "account", "sector", "year_established", "revenue", "employees",
        "office_location", "subsidiary_of",
    ),
    "products.csv": ("product", "series", "sales_price"),
    "sales_teams.csv": ("sales_agent", "manager", "regional_office"),
}  # fmt: skip


def _read(folder: Path, name: str) -> list[dict[str, str | None]]:
    with (folder / name).open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in MAVEN_FILES[name] if c not in (reader.fieldnames or [])]
        if missing:
            raise Rejected(
                f"{name} lacks column(s) {', '.join(missing)}", code="invalid_dataset", file=name
            )
        return [{k: (v.strip() or None) if v else None for k, v in row.items()} for row in reader]


def _build(model: type[M], name: str, line: int, fields: dict[str, Any]) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in error["loc"])
        raise Rejected(
            f"{name} line {line}: {field}: {error['msg']}", code="invalid_dataset", file=name
        ) from exc


def import_maven(
    session: Session, folder: Path, *, replace: bool, now: dt.datetime
) -> SalesImportReport:
    """Load the four files into the sales tables, stamped ``updated_at=now``."""
    absent = [n for n in MAVEN_FILES if not (folder / n).is_file()]
    if absent:
        raise Rejected(
            f"{folder} is not a CRM Sales Opportunities folder: missing {', '.join(absent)}",
            code="invalid_dataset",
        )
    notes: list[str] = []
    taken: set[str] = set()

    products = [
        _build(Product, "products.csv", i, {
            "id": make_id("prd", r["product"] or "", taken), "name": r["product"],
            "series": r["series"], "list_price": r["sales_price"], "updated_at": now,
        })
        for i, r in enumerate(_read(folder, "products.csv"), start=2)
    ]  # fmt: skip
    agents = {
        r["sales_agent"]: _build(SalesAgent, "sales_teams.csv", i, {
            "id": make_id("agt", r["sales_agent"] or "", taken), "name": r["sales_agent"],
            "manager": r["manager"], "regional_office": r["regional_office"], "updated_at": now,
        })
        for i, r in enumerate(_read(folder, "sales_teams.csv"), start=2)
    }  # fmt: skip
    account_rows = _read(folder, "accounts.csv")
    account_ids = {r["account"]: make_id("acc", r["account"] or "", taken) for r in account_rows}
    accounts: dict[str | None, Account] = {}
    for i, r in enumerate(account_rows, start=2):
        parent = r["subsidiary_of"]
        account = _build(Account, "accounts.csv", i, {
            "id": account_ids[r["account"]], "name": r["account"], "sector": r["sector"],
            "year_established": r["year_established"], "revenue": r["revenue"],
            "employees": r["employees"], "office_location": r["office_location"],
            "region": region_of(r["office_location"]),
            "parent_id": account_ids.get(parent) if parent else None, "updated_at": now,
        })  # fmt: skip
        account.size = size_band(account.employees)
        accounts[r["account"]] = account
    unknown_parents = {r["subsidiary_of"] or "" for r in account_rows} - set(account_ids) - {""}
    if unknown_parents:
        notes.append(f"parent companies not in accounts.csv: {', '.join(sorted(unknown_parents))}")

    pipeline = _read(folder, "sales_pipeline.csv")
    for r in pipeline:
        agent_name, account_name = r["sales_agent"], r["account"]
        if agent_name and agent_name not in agents:
            agents[agent_name] = SalesAgent(
                id=make_id("agt", agent_name, taken), name=agent_name, updated_at=now
            )
            notes.append(f"agent {agent_name!r} is not in sales_teams.csv: added without a team")
        if account_name and account_name not in accounts:
            accounts[account_name] = Account(
                id=make_id("acc", account_name, taken), name=account_name, updated_at=now
            )
            notes.append(f"account {account_name!r} is not in accounts.csv: added without details")
    opportunities = [
        _build(Opportunity, "sales_pipeline.csv", i, {
            "id": r["opportunity_id"],
            "agent_id": agents[r["sales_agent"]].id if r["sales_agent"] else None,
            "product": r["product"],
            "account_id": accounts[r["account"]].id if r["account"] else None,
            "stage": r["deal_stage"], "value": r["close_value"], "engage_date": r["engage_date"],
            "close_date": r["close_date"], "updated_at": now,
        })
        for i, r in enumerate(pipeline, start=2)
    ]  # fmt: skip
    duplicates = [k for k, n in Counter(o.id for o in opportunities).items() if n > 1]
    if duplicates:
        raise Rejected(
            f"sales_pipeline.csv repeats opportunity ids: {', '.join(duplicates[:5])}",
            code="invalid_dataset",
        )
    notes.extend(_quirks(opportunities, {p.name for p in products}))

    if replace:
        clear_sales(session)
    else:
        _delete_ids(session, CrmSOpportunity, [o.id for o in opportunities])
        _delete_ids(session, CrmSAccount, [a.id for a in accounts.values()])
        _delete_ids(session, CrmSAgent, [a.id for a in agents.values()])
        _delete_ids(session, CrmSProduct, [p.id for p in products])
    return SalesImportReport(
        products=insert_records(session, CrmSProduct, products),
        agents=insert_records(session, CrmSAgent, agents.values()),
        accounts=insert_records(session, CrmSAccount, accounts.values()),
        opportunities=insert_records(session, CrmSOpportunity, opportunities),
        notes=notes,
    )


def _quirks(opportunities: list[Opportunity], product_names: set[str]) -> list[str]:
    """What a reader of the import should know about the data (kept, not repaired)."""
    unknown = Counter(o.product for o in opportunities if o.product not in product_names)
    notes = [
        f"{n} deals name product {name!r}, which is not in products.csv"
        for name, n in unknown.most_common()
    ]
    no_account = sum(o.account_id is None for o in opportunities)
    no_value = sum(o.value is None for o in opportunities)
    if no_account:
        notes.append(f"{no_account} deals have no account")
    if no_value:
        notes.append(f"{no_value} deals have no close value")
    return notes


def _delete_ids(session: Session, model: Any, ids: list[str]) -> None:
    table = table_of(model)
    for start in range(0, len(ids), 500):
        session.execute(table.delete().where(table.c.id.in_(ids[start : start + 500])))
