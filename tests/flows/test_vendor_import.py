"""The `vendor_import` flow: a CSV vendor master loaded through the accounting connector,
as a run that a worker executes; a crashed import re-executed creates nothing twice; a
rollback takes the import back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from bpa.config import Settings
from bpa.errors import InvalidInput
from bpa.rollback import RunRollback
from bpa.runs.status import RunStatus
from bpa.runs.tables import Run
from bpa.suite import Suite
from connectors.schemas import VendorSearch
from flows.vendor_import.master_data import uploads

VENDORS = (
    "name,tax_id,country,currency\n"
    "Bluefin Marketing OÜ,EE101234568,EE,EUR\n"
    "Broken Tax Id GmbH,DE123,DE,EUR\n"
    "Kowalski Druk sp. z o.o.,PL5260250274,PL,PLN\n"
)
ORDERS = (
    "number,vendor,currency,order_date,line_no,description,quantity,unit_price\n"
    "PO-7001,EE101234568,EUR,2026-03-01,1,Campaign,1,1800\n"
    "PO-7001,EE101234568,EUR,2026-03-01,2,Design,2,320\n"
)


async def _vendors(suite: Suite, tax_id: str) -> list[object]:
    accounting = suite.connectors["accounting"]
    found = await accounting.search_vendors(VendorSearch(tax_id=tax_id))  # type: ignore[attr-defined]
    return [m.vendor for m in found if m.vendor.active]


def _payload(suite: Suite) -> dict[str, object]:
    docs = uploads(suite.documents)
    return {
        "vendors": docs.put(VENDORS.encode(), "vendors.csv", "text/csv").model_dump(mode="json"),
        "purchase_orders": docs.put(ORDERS.encode(), "po.csv", "text/csv").model_dump(mode="json"),
        "by": "test",
    }


async def test_an_import_crashed_after_its_writes_reexecutes_without_acting_twice(
    settings: Settings,
) -> None:
    async with Suite.open(settings) as suite:
        run = await suite.runner.start("vendor_import", _payload(suite), trigger="test")
        assert run.status == RunStatus.succeeded, run.error
        first = run.output
        assert first["created"] == {"vendors": 2, "purchase_orders": 1}
        assert [(e["file"], e["line"]) for e in first["errors"]] == [("vendors", 3)]

        # As a worker killed after the writes leaves it: running, its lease run out.
        with Session(suite.engine) as session:
            row = session.get(Run, run.id)
            assert row is not None
            row.status, row.output, row.finished_at = RunStatus.running, None, None
            row.claimed_by = "dead-worker"
            row.lease_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            session.add(row)
            session.commit()
        again = await suite.runner.execute(run.id)
        assert again.status == RunStatus.succeeded, again.error
        # Its own records, found by their keys: still "created", and created once.
        assert again.output["created"] == first["created"]
        assert again.output["existing"] == {"vendors": 0, "purchase_orders": 0}
        assert len(await _vendors(suite, "EE101234568")) == 1
        creates = [
            e
            for e in suite.store.events(run.id)
            if e.kind == "connector_call" and e.payload.get("action") == "create_vendor"
        ]
        assert creates, "the import's creations are in its audit trail"

        report = await RunRollback.of(suite)(run.id, reason="wrong file", by="test")
        assert report.status == RunStatus.rolled_back and not report.left, report.lines()
        assert await _vendors(suite, "EE101234568") == []
        assert await _vendors(suite, "PL5260250274") == []


async def test_an_unreadable_file_fails_the_run_with_its_reason(settings: Settings) -> None:
    async with Suite.open(settings) as suite:
        bad = uploads(suite.documents).put(b"company,vat\nAcme,1\n", "v.csv", "text/csv")
        run = await suite.runner.start(
            "vendor_import", {"vendors": bad.model_dump(mode="json")}, trigger="test"
        )
        assert run.status == RunStatus.failed and run.error is not None
        assert run.error["code"] == "master_data_unreadable"
        assert "lacks column(s) name" in run.error["message"]
        with pytest.raises(InvalidInput, match="vendors"):
            suite.runner.prepare("vendor_import", {"by": "nobody"})
