"""The sales-operations flow end to end on the committed CRM fixtures (fixtures/crm_sales).

The report's numbers are checked against an independent computation: SQL over the mocked
CRM's own tables (not the flow's snapshot), and the generator's manifest where it counts
the same thing.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bpa.cli._demo_sales import SALES_SCHEDULE, ensure_sales_schedule
from bpa.config import Settings
from bpa.models import ModelGateway
from bpa.models.tasks import Extraction, Generation, Usage
from bpa.runs.tables import Run
from bpa.suite import Suite
from connectors.crm.sales import PageFault
from connectors.errors import Transient
from connectors.schemas import ImportDataset, TaskSearch

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "crm_sales"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
AS_OF = MANIFEST["as_of"]
FLOW = "sales_operations"
OPEN = "('Prospecting', 'Engaging')"

# One row per deal, computed in SQL from the CRM's tables with the report's stated rules.
DEALS = f"""
WITH deal AS (
  SELECT o.id, o.agent_id, o.stage, o.engage_date, o.close_date,
    COALESCE(p.name, o.product) AS product,
    COALESCE(a.regional_office, 'unknown') AS region,
    CASE WHEN CAST(o.value AS REAL) >= 0 THEN CAST(o.value AS REAL) END AS good_value,
    CAST(p.list_price AS REAL) AS list_price,
    COALESCE((SELECT MAX(d) FROM (SELECT o.last_activity_date AS d UNION ALL
               SELECT x.date FROM crm_s_activities x WHERE x.opportunity_id = o.id)),
             o.engage_date) AS last_touch
  FROM crm_s_opportunities o
  LEFT JOIN crm_s_products p
    ON REPLACE(LOWER(p.name), ' ', '') = REPLACE(LOWER(o.product), ' ', '')
  LEFT JOIN crm_s_agents a ON a.id = o.agent_id
), scored AS (
  SELECT *,
    CASE WHEN stage IN {OPEN} THEN COALESCE(good_value, list_price, 0) END AS open_value,
    stage = 'Engaging' AND last_touch < date(:as_of, '-' || :days || ' days') AS stalled,
    CASE WHEN stage = 'Won' AND julianday(close_date) >= julianday(engage_date)
         THEN julianday(close_date) - julianday(engage_date) END AS cycle
  FROM deal
)
"""
GROUPED = (
    DEALS
    + f"""
SELECT {{key}} AS key,
  SUM(stage IN {OPEN}) AS open, SUM(stage = 'Won') AS won, SUM(stage = 'Lost') AS lost,
  COALESCE(SUM(CASE WHEN stage = 'Won' THEN good_value END), 0) AS won_value,
  AVG(CASE WHEN stage = 'Won' THEN good_value END) AS avg_deal_size,
  COALESCE(SUM(open_value), 0) AS open_value,
  SUM(stalled) AS stalled, COALESCE(SUM(CASE WHEN stalled THEN open_value END), 0) AS stalled_value,
  AVG(cycle) AS avg_cycle_days
FROM scored GROUP BY {{key}}
"""
)


def sql(suite: Suite, query: str, days: int = 30) -> list[dict[str, Any]]:
    with suite.engine.connect() as conn:
        rows = conn.execute(text(query), {"as_of": AS_OF, "days": days}).mappings()
        return [dict(r) for r in rows]


async def review(suite: Suite, **changes: Any) -> Run:
    return await suite.runner.start(FLOW, {"as_of": AS_OF, **changes}, trigger="test")


def crm(suite: Suite) -> Any:
    return suite.connectors["crm"]


async def opportunity_tasks(suite: Suite) -> list[Any]:
    return list(await crm(suite).list_tasks(TaskSearch(related_type="opportunity", limit=500)))


def close(a: float | None, b: float | None, unit: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= unit * 1.01


def check_group(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    wrong = []
    for name in ("open", "won", "lost", "stalled"):
        if got[name] != want[name]:
            wrong.append(f"{name}: {got[name]} != {want[name]}")
    for name, unit in (
        ("won_value", 0.01),
        ("open_value", 0.01),
        ("stalled_value", 0.01),
        ("avg_deal_size", 0.01),
        ("avg_cycle_days", 0.1),
    ):
        if not close(got[name], want[name], unit):
            wrong.append(f"{name}: {got[name]} != {want[name]}")
    closed = want["won"] + want["lost"]
    rate = want["won"] / closed if closed else None
    if not close(got["win_rate"], rate, 0.0001):
        wrong.append(f"win_rate: {got['win_rate']} != {rate}")
    return wrong


def money(value: float) -> str:
    return f"${value:,.0f}"


@pytest.fixture
async def suite(settings: Settings) -> Any:
    async with Suite.open(settings) as opened:
        yield opened


def _needs_sqlite_sql(suite: Suite) -> None:
    if suite.engine.dialect.name != "sqlite":
        pytest.skip(
            "the independent computation is written in SQLite's SQL (julianday); "
            "it checks the numbers in the default SQLite run"
        )


async def test_every_number_matches_an_independent_sql_computation(suite: Suite) -> None:
    _needs_sqlite_sql(suite)
    run = await review(suite)
    assert run.status == "succeeded", run.error
    numbers = run.output["numbers"]  # type: ignore[index]

    for key, listing, name in (
        ("agent_id", "by_agent", "agent_id"),
        ("product", "by_product", "product"),
        ("region", "by_region", "region"),
    ):
        want = {r["key"]: r for r in sql(suite, GROUPED.format(key=key))}
        got = {g[name]: g for g in numbers[listing]}
        assert set(got) == set(want)
        problems = {k: check_group(got[k], want[k]) for k in want}
        assert {k: v for k, v in problems.items() if v} == {}

    total = sql(suite, GROUPED.format(key="'all'"))[0]
    totals = numbers["totals"]
    assert close(totals["won_value"], total["won_value"], 0.01)
    assert close(totals["open_pipeline_value"], total["open_value"], 0.01)
    assert close(totals["avg_deal_size"], total["avg_deal_size"], 0.01)
    assert close(totals["win_rate"], total["won"] / (total["won"] + total["lost"]), 0.0001)
    cycles = [
        r["cycle"] for r in sql(suite, DEALS + "SELECT cycle FROM scored") if r["cycle"] is not None
    ]
    assert totals["cycle_deals"] == len(cycles)
    assert close(totals["cycle_median_days"], statistics.median(cycles), 0.1)

    stages = {
        r["stage"]: r
        for r in sql(
            suite,
            DEALS
            + """
        SELECT stage, COUNT(*) AS n, COALESCE(SUM(good_value), 0) AS value FROM deal
        GROUP BY stage""",
        )
    }
    assert (
        {s["stage"]: s["count"] for s in numbers["pipeline_by_stage"]}
        == {k: v["n"] for k, v in stages.items()}
        == MANIFEST["stages"]
    )
    months = {
        r["month"]: r
        for r in sql(
            suite,
            DEALS
            + """
        SELECT strftime('%Y-%m', close_date) AS month, COUNT(*) AS won,
          COALESCE(SUM(good_value), 0) AS value
        FROM deal WHERE stage = 'Won' AND close_date IS NOT NULL GROUP BY month""",
        )
    }
    trend = {m["month"]: m for m in numbers["won_by_month"] if m["won"]}
    assert set(trend) == set(months)
    assert all(
        trend[m]["won"] == months[m]["won"]
        and close(trend[m]["won_value"], months[m]["value"], 0.01)
        for m in months
    )

    past = sql(
        suite,
        DEALS
        + f"""SELECT COUNT(*) AS n, COALESCE(SUM(open_value), 0) AS value
        FROM scored WHERE stage IN {OPEN} AND close_date < :as_of""",
    )[0]
    assert numbers["past_close"]["count"] == past["n"] == MANIFEST["quality"]["past_expected_close"]
    assert close(numbers["past_close"]["value"], past["value"], 0.01)
    assert numbers["stalled"]["count"] == total["stalled"] == MANIFEST["quality"]["stalled"]

    html = Path(run.output["report_html"]).read_text()  # type: ignore[index]
    shown = [
        money(total["won_value"]),
        money(total["open_value"]),
        money(total["avg_deal_size"]),
        f"{total['won'] / (total['won'] + total['lost']):.1%}",
        f"{past['n']:,}",
        money(past["value"]),
        f"{total['stalled']:,}",
    ]
    shown += [money(r["won_value"]) for r in sql(suite, GROUPED.format(key="product"))]
    assert [s for s in shown if s not in html] == []
    assert_charts_and_summary(run)


def assert_charts_and_summary(run: Run) -> None:
    out = run.output or {}
    html = Path(out["report_html"]).read_text()
    images = re.findall(
        r'<img class="chart" alt="([^"]+)" src="data:image/png;base64,([^"]+)"', html
    )
    assert len(images) == 4
    for _alt, data in images:
        png = base64.b64decode(data)
        assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert "PARTIAL" not in html
    summary = Path(out["report_markdown"]).read_text()
    assert out["report_url"] in summary and "## Actions" in summary
    assert Path(out["report_html"]).parent.name == run.id
    assert out["report_url"].startswith("file://")


async def test_data_quality_lists_the_problems_planted_in_the_fixtures(suite: Suite) -> None:
    _needs_sqlite_sql(suite)
    run = await review(suite, top_n=0, stalled_days=10)
    assert run.output["tasks"] == [] and run.output["drafts"] == []  # type: ignore[index]
    want = sql(suite, GROUPED.format(key="'all'"), days=10)[0]  # the threshold is honoured
    assert run.output["numbers"]["stalled"]["count"] == want["stalled"]  # type: ignore[index]
    assert want["stalled"] > MANIFEST["quality"]["stalled"]

    found = {i["code"]: i for i in run.output["data_quality"]}  # type: ignore[index]
    planted = MANIFEST["quality"]
    assert found["product_misspelt"]["value"] == "AtlasPro"
    assert found["product_misspelt"]["suggestion"] == "Atlas Pro"
    assert found["product_misspelt"]["count"] == planted["product_not_on_price_list"]["AtlasPro"]
    assert found["missing_account"]["count"] == planted["no_account"]
    assert found["missing_value"]["by_stage"]["Won"] == planted["won_without_value"]
    assert found["negative_value"]["count"] == planted["negative_value"]
    assert found["close_before_engage"]["count"] == planted["close_before_engage"]
    assert found["misspelt_sector"]["count"] == planted["misspelt_sector"]
    assert found["misspelt_sector"]["suggestion"] == "software"
    with (FIXTURES / "opportunities.csv").open() as fh:
        negative = sorted(r["id"] for r in csv.DictReader(fh) if r["value"].startswith("-"))
    assert found["negative_value"]["examples"] == negative[:5]
    html = Path(run.output["report_html"]).read_text()  # type: ignore[index]
    section = html[html.index('id="data-quality"') :]
    assert all(code in section for code in found)
    assert "AtlasPro" in section and negative[0] in section


async def test_drafts_and_tasks_then_a_second_run_creates_no_duplicates(suite: Suite) -> None:
    first = await review(suite, top_n=3)
    out = first.output or {}
    assert [d["opportunity_id"] for d in out["drafts"]] == [
        o["opportunity_id"] for o in out["opportunities"][:3]
    ]
    for draft in out["drafts"]:
        eml = Path(draft["path"]).read_text()
        assert "X-BPA-Status: draft" in eml and draft["subject"] in eml
        assert draft["to"] and "@" in draft["to"]
    assert out["opportunities"][0]["evidence"] and out["risks"][0]["evidence"]
    created = {o["opportunity_id"] for o in out["opportunities"][:3] + out["risks"][:3]}
    assert out["tasks_created"] == len(created) == 6
    tasks = await opportunity_tasks(suite)
    assert {t.related_id for t in tasks} == created
    risky = next(t for t in tasks if t.related_id == out["risks"][0]["opportunity_id"])
    assert risky.priority == "high" and "Evidence:" in risky.description

    second = await review(suite, top_n=3)
    assert second.output["tasks_created"] == 0  # type: ignore[index]
    assert {t["status"] for t in second.output["tasks"]} == {"exists"}  # type: ignore[index]
    tasks = await opportunity_tasks(suite)
    assert len(tasks) == 6 == len({t.related_id for t in tasks})
    assert second.output["collection"]["mode"] == "incremental"  # type: ignore[index]
    assert second.output["numbers"] == first.output["numbers"]  # type: ignore[index]


async def test_an_incremental_run_sees_a_deal_that_changed(suite: Suite) -> None:
    first = await review(suite, top_n=0)
    deal = first.output["numbers"]["stalled"]["deals"][0]["id"]  # type: ignore[index]
    with suite.engine.begin() as conn:
        conn.execute(
            text("""UPDATE crm_s_opportunities SET stage = 'Won', value = '1000.00',
            close_date = :as_of, updated_at = :now WHERE id = :id"""),
            {"as_of": AS_OF, "now": dt.datetime.now(dt.UTC).replace(tzinfo=None), "id": deal},
        )
    second = await review(suite, top_n=0)
    before, after = first.output["numbers"], second.output["numbers"]  # type: ignore[index]
    assert second.output["collection"]["mode"] == "incremental"  # type: ignore[index]
    assert second.output["collection"]["changed"]["opportunities"] < 10  # type: ignore[index]
    assert after["counts"]["won"] == before["counts"]["won"] + 1
    assert close(after["totals"]["won_value"], before["totals"]["won_value"] + 1000, 0.01)
    assert after["stalled"]["count"] == before["stalled"]["count"] - 1


async def test_empty_crm_fails_with_a_reason(suite: Suite, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    headers = {
        "sales_pipeline.csv": "opportunity_id,sales_agent,product,account,deal_stage,"
        "engage_date,close_date,close_value",
        "accounts.csv": "account,sector,year_established,revenue,employees,office_location,"
        "subsidiary_of",
        "products.csv": "product,series,sales_price",
        "sales_teams.csv": "sales_agent,manager,regional_office",
    }
    for name, header in headers.items():
        (empty / name).write_text(header + "\n")
    crm(suite).import_maven_dataset(ImportDataset(path=str(empty)))
    run = await review(suite)
    assert run.status == "failed"
    assert run.error["code"] == "crm_empty"  # type: ignore[index]
    assert "no opportunities" in run.error["message"]  # type: ignore[index]
    assert await opportunity_tasks(suite) == []


async def test_nonsense_values_are_flagged_and_kept_out_of_the_totals(
    suite: Suite, tmp_path: Path
) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "products.csv").write_text("product,series,sales_price\nGTX Pro,GTX,4821\n")
    (folder / "sales_teams.csv").write_text(
        "sales_agent,manager,regional_office\nAnna Snelling,Dustin Brinkmann,Central\n"
    )
    (folder / "accounts.csv").write_text(
        "account,sector,year_established,revenue,employees,office_location,subsidiary_of\n"
        "Acme & <Sons>,technolgy,1996,1100.04,2822,United States,\n"
    )
    (folder / "sales_pipeline.csv").write_text(
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,"
        "close_value\n"
        "W1,Anna Snelling,GTX Pro,Acme & <Sons>,Won,2017-01-01,2017-02-01,5000\n"
        "W2,Anna Snelling,GTXPro,Acme & <Sons>,Won,2017-03-01,2017-02-01,4000\n"
        "W3,Anna Snelling,GTX Pro,Acme & <Sons>,Won,2017-03-01,2017-04-01,-300\n"
        "W4,Anna Snelling,GTX Pro,,Won,2017-03-01,2017-05-01,\n"
        "L1,Anna Snelling,GTX Pro,Acme & <Sons>,Lost,2017-03-01,2017-04-11,0\n"
        "E1,Anna Snelling,GTX Pro,,Engaging,2017-06-01,,\n"
        "E2,Anna Snelling,GTX Pro,Acme & <Sons>,Engaging,2017-12-20,,\n"
    )
    crm(suite).import_maven_dataset(ImportDataset(path=str(folder)))
    run = await suite.runner.start(FLOW, {"as_of": "2017-12-31"}, trigger="test")
    assert run.status == "succeeded", run.error
    out = run.output or {}
    found = {i["code"]: i for i in out["data_quality"]}
    assert found["negative_value"]["examples"] == ["W3"]
    assert found["close_before_engage"]["examples"] == ["W2"]
    assert found["product_misspelt"]["examples"] == ["W2"]
    assert found["missing_account"]["examples"] == ["E1", "W4"]
    assert found["missing_value"]["by_stage"] == {"Won": 1, "Engaging": 2}
    assert found["misspelt_sector"]["suggestion"] == "technology"
    totals, counts = out["numbers"]["totals"], out["numbers"]["counts"]
    assert counts["won"] == 4 and counts["opportunities"] == 7  # flagged, not dropped
    assert totals["won_value"] == 9000.0  # W1 + W2; W3 negative, W4 no value
    assert totals["avg_deal_size"] == 4500.0
    assert totals["cycle_deals"] == 3 and totals["cycle_mean_days"] == 41.0  # W1, W3, W4
    assert totals["win_rate"] == 0.8
    assert totals["open_pipeline_value"] == 2 * 4821.0  # E1, E2 at the list price
    assert [o["opportunity_id"] for o in out["opportunities"]] == ["E2"]
    assert [r["opportunity_id"] for r in out["risks"]] == ["E1"]  # stalled, no account
    html = Path(out["report_html"]).read_text()
    assert "Acme &amp; &lt;Sons&gt;" in html and "<Sons>" not in html


async def test_crm_outage_before_any_collection_fails_then_a_rerun_completes(
    suite: Suite,
) -> None:
    without_guard(suite)
    crm(suite).sales_fault = PageFault(after=6, times=1000)
    failed = await review(suite)
    assert failed.status == "failed"
    assert failed.error["code"] == "crm_unavailable"  # type: ignore[index]
    assert "timed out" in failed.error["message"]  # type: ignore[index]
    assert failed.error["entity"] == "opportunities"  # type: ignore[index]
    assert "after 2,000 of them" in failed.error["message"]  # type: ignore[index]
    assert await opportunity_tasks(suite) == []
    assert not (suite.settings.home / "reports" / failed.id).exists()

    crm(suite).sales_fault = PageFault(after=6, times=2)  # a blip the page retries get past
    again = await review(suite)
    assert again.status == "succeeded" and again.output["tasks_created"] == 10  # type: ignore[index]
    assert again.output["partial"] is False  # type: ignore[index]
    assert again.output["collection"]["mode"] == "full"  # type: ignore[index]
    assert again.output["numbers"]["counts"]["opportunities"] == 4000  # type: ignore[index]


def without_guard(suite: Suite) -> None:
    """The flow's own handling of a CRM outage, as with ``"resilience": false``: with the
    connector's guard, a lasting outage opens its breaker and the run waits instead
    (tests/bpa/test_faults_engine.py)."""
    suite.runner.guards.pop("crm", None)


async def test_crm_outage_after_a_good_run_gives_a_marked_partial_report(suite: Suite) -> None:
    without_guard(suite)
    first = await review(suite)
    crm(suite).sales_fault = PageFault(after=2, times=1000)
    partial = await review(suite)
    assert partial.status == "succeeded"
    out = partial.output or {}
    assert out["partial"] is True and out["problem"]["entity"] == "accounts"
    assert out["drafts"] == [] and out["tasks"] == [] and out["skipped"]
    assert "PARTIAL REPORT" in Path(out["report_html"]).read_text()
    assert "PARTIAL" in Path(out["report_markdown"]).read_text()
    assert out["collection"]["watermark_saved"] is False

    crm(suite).sales_fault = PageFault()
    last = await review(suite)
    assert last.output["partial"] is False  # type: ignore[index]
    assert last.output["tasks_created"] == 0  # type: ignore[index]
    tasks = await opportunity_tasks(suite)
    assert len(tasks) == first.output["tasks_created"] == 10  # type: ignore[index]


class FailingTaskWrites:
    """The CRM, except that task creation times out after `allow` tasks (a test double)."""

    name = "crm"

    def __init__(self, real: Any, allow: int) -> None:
        self._real, self.allow = real, allow

    def action_specs(self) -> Any:
        return self._real.action_specs()

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._real, attr)

    async def create_task(self, request: Any, *, idempotency_key: str) -> Any:
        if self.allow <= 0:
            raise Transient("CRM timed out", code="timeout")
        self.allow -= 1
        return await self._real.create_task(request, idempotency_key=idempotency_key)


async def test_failure_during_crm_updates_then_rerun_creates_no_duplicates(
    suite: Suite,
) -> None:
    real = suite.runner.connectors["crm"]
    suite.runner.connectors["crm"] = FailingTaskWrites(real, allow=3)  # type: ignore[assignment]
    failed = await review(suite)
    assert failed.status == "failed"
    assert failed.error["code"] == "connector_timeout"  # type: ignore[index]
    assert len(await opportunity_tasks(suite)) == 3

    suite.runner.connectors["crm"] = real
    rerun = await review(suite)
    assert rerun.status == "succeeded"
    statuses = [t["status"] for t in rerun.output["tasks"]]  # type: ignore[index]
    assert statuses.count("exists") == 3 and statuses.count("created") == 7
    tasks = await opportunity_tasks(suite)
    assert len(tasks) == 10 == len({t.related_id for t in tasks})


async def test_full_refresh_drops_deals_the_crm_no_longer_has(suite: Suite) -> None:
    await review(suite, top_n=0)
    with suite.engine.begin() as conn:
        conn.execute(text("DELETE FROM crm_s_opportunities WHERE id = 'OPP-000001'"))
    fresh = await review(suite, top_n=0, full_refresh=True)
    assert fresh.output["collection"]["removed"]["opportunities"] == 1  # type: ignore[index]
    assert fresh.output["numbers"]["counts"]["opportunities"] == 3999  # type: ignore[index]


async def test_demo_schedule_is_weekly_and_created_once(suite: Suite) -> None:
    first = ensure_sales_schedule(suite)
    second = ensure_sales_schedule(suite)
    assert first.id == second.id and first.name == SALES_SCHEDULE
    assert first.flow == FLOW and first.cron == "0 7 * * MON"
    assert first.input["as_of"] == AS_OF
    assert len(suite.schedules.list(flow=FLOW)) == 1


class ScriptedModel:
    """A model backend that renders the flow's prompts and answers from a script: it reverses
    the opportunity shortlist, adds a deal that does not exist, and names no risk."""

    name = "scripted"
    model = "scripted-1"

    def __init__(self) -> None:
        self.prompts: list[str] = []
        self.shortlist: list[str] = []

    async def extract(self, task: Any, text: str, variables: dict[str, Any]) -> Any:
        prompt = task.prompts.render(task.prompt, schema=task.schema, **variables)
        self.prompts.append(prompt.text)
        self.shortlist = [c["id"] for c in json.loads(text)["opportunities"]]
        ranked = [{"opportunity_id": "OPP-INVENTED", "headline": "made up", "next_step": "x"}]
        ranked += [
            {"opportunity_id": i, "headline": f"model on {i}", "next_step": "Call them"}
            for i in reversed(self.shortlist)
        ]
        value = task.schema.model_validate({"opportunities": ranked, "risks": []})
        return Extraction(value=value, confidence=0.7), Usage(), prompt

    async def generate(self, task: Any, variables: dict[str, Any]) -> Any:
        prompt = task.prompts.render(task.prompt, **variables)
        self.prompts.append(prompt.text)
        text = f"Subject: About {variables['product']}\n\nHello {variables['contact_name']},"
        return Generation(text=text), Usage(), prompt

    async def classify(self, task: Any, text: str, variables: dict[str, Any]) -> Any:
        raise AssertionError("the sales flow classifies nothing")


async def test_a_language_model_ranks_the_shortlist_but_cannot_invent_deals(
    suite: Suite,
) -> None:
    model = ScriptedModel()
    suite.runner.models = ModelGateway(model)  # type: ignore[arg-type]
    run = await review(suite, top_n=2)
    assert run.status == "succeeded", run.error
    out = run.output or {}
    assert [o["opportunity_id"] for o in out["opportunities"]] == model.shortlist[::-1]
    assert out["opportunities"][0]["headline"] == f"model on {model.shortlist[-1]}"
    assert out["opportunities"][0]["evidence"][0]["label"] == "estimated value"
    assert out["risks"] and out["ranking"]["fell_back"] is True  # no risk named: offline order
    assert out["ranking"]["backend"] == "scripted"
    assert [d["subject"] for d in out["drafts"]] == [
        f"About {o['product']}" for o in out["opportunities"][:2]
    ]
    assert AS_OF in model.prompts[0] and "never add one" in model.prompts[0]
    assert "DRAFT" in model.prompts[1]
