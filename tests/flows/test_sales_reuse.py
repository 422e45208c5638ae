"""A sales review with nothing new in the CRM reuses the last review's results.

What a user notices: the second review says which steps it took from which run, makes no
model call for the ranking, reads nothing the snapshot already has, and shows the same
numbers and lists; a changed deal, other parameters or a full refresh compute again.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bpa.config import Settings
from bpa.runs.tables import Run
from bpa.suite import Suite
from connectors.schemas import ImportDataset
from flows.sales_operations import collect

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "crm_sales"
AS_OF = json.loads((FIXTURES / "manifest.json").read_text())["as_of"]
FLOW = "sales_operations"
STEPS = ("check_quality", "analyse_pipeline", "identify_insights")
SAME = ("numbers", "data_quality", "opportunities", "risks")


def crm(suite: Suite) -> Any:
    return suite.connectors["crm"]


@pytest.fixture
async def suite(settings: Settings) -> Any:
    async with Suite.open(settings) as opened:
        yield opened


async def review(suite: Suite, as_of: str = AS_OF, **changes: Any) -> Run:
    run = await suite.runner.start(FLOW, {"as_of": as_of, **changes}, trigger="test")
    assert run.status == "succeeded", run.error
    return run


def ranking_calls(suite: Suite, run: Run) -> int:
    return sum(
        e.kind == "model_call" and e.node == "identify_insights" for e in suite.store.events(run.id)
    )


async def test_a_review_with_nothing_changed_reuses_every_step(suite: Suite) -> None:
    first = await review(suite, top_n=2)
    second = await review(suite, top_n=2)
    out, before = second.output or {}, first.output or {}

    assert (first.output or {})["reused"] == {}
    assert out["reused"] == {step: first.id for step in STEPS}
    assert all(out[key] == before[key] for key in SAME)
    assert ranking_calls(suite, first) == 1 and ranking_calls(suite, second) == 0
    # The fixtures were stamped long before the first review: its watermark had settled, so
    # the second collection starts past it and reads nothing at all.
    assert out["collection"]["mode"] == "incremental"
    assert sum(out["collection"]["read"].values()) == 0
    assert first.id in Path(out["report_html"]).read_text()

    other = await review(suite, top_n=2, stalled_days=10)  # same data, another threshold
    assert set((other.output or {})["reused"]) == {"check_quality"}
    assert (other.output or {})["numbers"]["stalled"]["count"] > before["numbers"]["stalled"][
        "count"
    ]

    fresh = await review(suite, top_n=2, full_refresh=True)
    assert (fresh.output or {})["reused"] == {}
    assert ranking_calls(suite, fresh) == 1


async def test_a_changed_deal_is_not_answered_from_the_last_review(suite: Suite) -> None:
    first = await review(suite, top_n=0)
    deal = (first.output or {})["numbers"]["stalled"]["deals"][0]["id"]
    with suite.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE crm_s_opportunities SET stage = 'Lost', value = '0', close_date = :d, "
                "updated_at = :now WHERE id = :id"
            ),
            {"d": AS_OF, "now": dt.datetime.now(dt.UTC).replace(tzinfo=None), "id": deal},
        )
    second = await review(suite, top_n=0)
    out = second.output or {}
    assert out["reused"] == {}
    assert out["collection"]["changed"]["opportunities"] == 1
    assert out["numbers"]["counts"]["lost"] == (first.output or {})["numbers"]["counts"]["lost"] + 1

    third = await review(suite, top_n=0)
    assert (third.output or {})["reused"] == {step: second.id for step in STEPS}


async def test_records_read_again_at_the_watermark_change_nothing(
    suite: Suite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import stamps every record alike; until that stamp settles, each review reads the
    records at the watermark again, and finding them as they were reuses the results."""
    monkeypatch.setattr(collect, "SETTLE", dt.timedelta(days=1))  # never settles in this test
    folder = tmp_path / "maven"
    folder.mkdir()
    (folder / "products.csv").write_text("product,series,sales_price\nGTK 500,GTK,26768\n")
    (folder / "sales_teams.csv").write_text(
        "sales_agent,manager,regional_office\nAnna Snelling,Dustin Brinkmann,Central\n"
    )
    (folder / "accounts.csv").write_text(
        "account,sector,year_established,revenue,employees,office_location,subsidiary_of\n"
        "Acme,software,1996,1100.04,2822,United States,\n"
    )
    rows = [f"E{n},Anna Snelling,GTK 500,Acme,Engaging,2017-12-{10 + n},," for n in range(5)]
    rows += [
        f"W{n},Anna Snelling,GTK 500,Acme,Won,2017-01-0{n + 1},2017-03-01,25000" for n in range(3)
    ]
    (folder / "sales_pipeline.csv").write_text(
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,"
        "close_value\n" + "\n".join(rows) + "\n"
    )
    crm(suite).import_maven_dataset(ImportDataset(path=str(folder)))

    first = await review(suite, as_of="2017-12-31")
    second = await review(suite, as_of="2017-12-31")
    out = second.output or {}
    assert out["collection"]["read"]["opportunities"] == 8  # all stamped at the watermark
    assert out["collection"]["changed"]["opportunities"] == 0
    assert out["reused"] == {step: first.id for step in STEPS}
    items = out["opportunities"] + out["risks"]
    assert items and all(i["value_imputed"] for i in items)
