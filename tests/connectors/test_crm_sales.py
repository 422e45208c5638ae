"""The mocked CRM's sales half: the shared conformance suite, then what is special to the mock
(seeding, the public data set's format, scale-up, the injected timeout)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from connectors.crm import MockCRMConnector
from connectors.crm.sales import PageFault
from connectors.errors import Rejected, Transient
from connectors.schemas import (
    ImportDataset,
    ListAccounts,
    ListActivities,
    ListAgents,
    ListOpportunities,
    NextStepUpdate,
    Opportunity,
)
from connectors.testing import SalesCRMConnectorTests, new_key
from connectors.testing.crm_sales import collect

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
AS_OF = dt.date(2025, 6, 30)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "crm_sales_generate", FIXTURES / "crm_sales" / "generate.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _generator()


@pytest.fixture(scope="module")
def small_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-deal data set from the fixture generator (the shipped 4,000 are for demos)."""
    folder = tmp_path_factory.mktemp("crm_sales")
    generator.write(generator.generate(300, seed=11, as_of=AS_OF), folder)
    return folder


def crm_config(tmp_path: Path, sales_seed: Path | None = None, **sales: Any) -> dict[str, Any]:
    (tmp_path / "crm").mkdir(exist_ok=True)
    if sales_seed is not None:
        sales["seed"] = str(sales_seed)
    return {
        "database_url": f"sqlite:///{tmp_path / 'crm.db'}",
        "seed": str(tmp_path / "crm"),
        "sales": sales,
    }


@pytest.fixture
def crm(tmp_path: Path, small_seed: Path) -> MockCRMConnector:
    return MockCRMConnector(crm_config(tmp_path, small_seed))


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


class TestMockCRMSales(SalesCRMConnectorTests):
    connector_class = MockCRMConnector
    opportunity_id = "OPP-000010"

    @pytest.fixture
    def connector_config(self, tmp_path: Path, small_seed: Path) -> dict[str, Any]:
        return crm_config(tmp_path, small_seed)


# Seeding


def test_the_shipped_fixtures_seed_once_beside_the_crm_seed_folder(tmp_path: Path) -> None:
    manifest = json.loads((FIXTURES / "crm_sales" / "manifest.json").read_text())
    config = {"database_url": f"sqlite:///{tmp_path / 'crm.db'}", "seed": str(FIXTURES / "crm")}
    first = MockCRMConnector(config).sales_counts()
    again = MockCRMConnector(config).sales_counts()
    assert again == first
    assert {k: first[k] for k in manifest["counts"]} == manifest["counts"]
    assert first["opportunities"] >= 4000


def test_the_generator_is_deterministic_and_scales() -> None:
    one = generator.generate(200, seed=5, as_of=AS_OF)
    two = generator.generate(200, seed=5, as_of=AS_OF)
    other = generator.generate(200, seed=6, as_of=AS_OF)
    assert one["files"]["opportunities"] == two["files"]["opportunities"]
    assert one["files"]["opportunities"] != other["files"]["opportunities"]
    stages = one["manifest"]["stages"]
    assert set(stages) == {"Prospecting", "Engaging", "Won", "Lost"}


async def test_every_seeded_row_comes_back_as_written_flaws_included(
    crm: MockCRMConnector, small_seed: Path
) -> None:
    stored = {o.id: o for o in await collect(crm.list_opportunities, ListOpportunities())}
    written = {
        r["id"]: Opportunity.model_validate({k: v or None for k, v in r.items()})
        for r in _csv_rows(small_seed / "opportunities.csv")
    }
    assert stored == written

    quality = json.loads((small_seed / "manifest.json").read_text())["quality"]
    deals = list(stored.values())
    assert (
        sum(o.product == "AtlasPro" for o in deals)
        == quality["product_not_on_price_list"]["AtlasPro"]
    )
    assert sum(o.account_id is None for o in deals) == quality["no_account"] > 0
    assert (
        sum(o.stage == "Won" and o.value is None for o in deals) == (quality["won_without_value"])
    )
    assert sum(o.value is not None and o.value < 0 for o in deals) == quality["negative_value"] > 0
    reversed_dates = [
        o for o in deals if o.close_date and o.engage_date and o.close_date < o.engage_date
    ]
    assert len(reversed_dates) == quality["close_before_engage"] > 0


async def test_last_activity_date_agrees_with_the_activities(crm: MockCRMConnector) -> None:
    deals = await collect(crm.list_opportunities, ListOpportunities(page_size=1000))
    activities = await collect(crm.list_activities, ListActivities(page_size=1000))
    latest: dict[str, dt.date] = {}
    for a in activities:
        latest[a.opportunity_id] = max(a.date, latest.get(a.opportunity_id, a.date))
    assert {o.id: o.last_activity_date for o in deals if o.last_activity_date} == latest


# The public data set's format (a tiny copy written here: tests never read ../shared)

MAVEN = {
    "sales_teams.csv": "sales_agent,manager,regional_office\n"
    "Anna Snell,Dustin Brink,Central\nMoses Frost,Melvin Marx,East\n",
    "products.csv": "product,series,sales_price\nGTX Basic,GTX,550\nGTX Pro,GTX,4821\n",
    "accounts.csv": "account,sector,year_established,revenue,employees,office_location,"
    "subsidiary_of\nAcme Corporation,technolgy,1996,1100.04,2822,United States,\n"
    "Bluth Company,technolgy,1993,1242.32,3027,Philipines,Acme Corporation\n",
    "sales_pipeline.csv": "opportunity_id,sales_agent,product,account,deal_stage,engage_date,"
    "close_date,close_value\n"
    "1C1I7A6R,Moses Frost,GTX Basic,Acme Corporation,Won,2016-10-20,2017-03-01,1054\n"
    "Z063OYW0,Anna Snell,GTXPro,Bluth Company,Won,2016-10-25,2017-03-11,4514\n"
    "6CWZFOHJ,Anna Snell,GTX Basic,,Prospecting,,,\n"
    "3LCLVRVV,Anna Snell,GTX Pro,,Engaging,2017-01-05,,\n"
    "EC4QE1BX,Ghost Agent,GTX Basic,Globex,Lost,2016-11-01,2017-01-02,0\n",
}


def write_maven(folder: Path, **changes: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**MAVEN, **changes}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


async def test_the_public_format_imports_with_its_quirks_kept(
    crm: MockCRMConnector, tmp_path: Path
) -> None:
    report = crm.import_maven_dataset(ImportDataset(path=str(write_maven(tmp_path / "maven"))))
    assert (report.opportunities, report.products) == (5, 2)
    assert (report.agents, report.accounts) == (3, 3)  # + the unknown agent and account
    assert any("GTXPro" in n for n in report.notes)
    assert any("Ghost Agent" in n for n in report.notes)
    assert crm.sales_counts()["activities"] == 0  # replaced the seeded data

    deals = {o.id: o for o in await collect(crm.list_opportunities, ListOpportunities())}
    assert set(deals) == {"1C1I7A6R", "Z063OYW0", "6CWZFOHJ", "3LCLVRVV", "EC4QE1BX"}
    assert deals["Z063OYW0"].product == "GTXPro"
    assert deals["1C1I7A6R"].value == Decimal("1054")
    assert deals["1C1I7A6R"].close_date == dt.date(2017, 3, 1)
    prospect = deals["6CWZFOHJ"]
    assert (prospect.account_id, prospect.engage_date, prospect.value) == (None, None, None)
    assert deals["3LCLVRVV"].close_date is None

    accounts = {a.name: a for a in await collect(crm.list_accounts, ListAccounts())}
    assert accounts["Bluth Company"].parent_id == accounts["Acme Corporation"].id
    assert accounts["Bluth Company"].region == "APAC"  # "Philipines", as misspelt in the set
    assert accounts["Acme Corporation"].size == "large"
    assert deals["EC4QE1BX"].account_id == accounts["Globex"].id
    agents = {a.name: a for a in await collect(crm.list_agents, ListAgents())}
    assert agents["Moses Frost"].regional_office == "East"
    assert deals["1C1I7A6R"].agent_id == agents["Moses Frost"].id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "sales_pipeline.csv": MAVEN["sales_pipeline.csv"]
                + "X1,Anna Snell,GTX Basic,,Closed,,,\n"
            },
            "sales_pipeline.csv line 7: stage",
        ),
        ({"products.csv": "name,price\nGTX Basic,550\n"}, "products.csv lacks column(s) product"),
    ],
    ids=["unknown-stage", "wrong-header"],
)
def test_a_malformed_data_set_is_refused_and_changes_nothing(
    crm: MockCRMConnector, tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    before = crm.sales_counts()
    with pytest.raises(Rejected) as refused:
        crm.import_maven_dataset(ImportDataset(path=str(write_maven(tmp_path / "m", **changes))))
    assert refused.value.code == "invalid_dataset"
    assert message in refused.value.message
    assert crm.sales_counts() == before


def test_a_folder_without_the_files_is_refused(crm: MockCRMConnector, tmp_path: Path) -> None:
    with pytest.raises(Rejected, match=r"missing sales_pipeline\.csv"):
        crm.import_maven_dataset(ImportDataset(path=str(tmp_path)))


async def test_scale_up_copies_every_deal_with_new_ids_once(crm: MockCRMConnector) -> None:
    before = crm.sales_counts()
    assert crm.scale_up(3) == 2 * before["opportunities"]
    after = crm.sales_counts()
    assert after["opportunities"] == 3 * before["opportunities"]
    assert after["activities"] == 3 * before["activities"]
    deals = await collect(crm.list_opportunities, ListOpportunities(page_size=1000))
    assert len({o.id for o in deals}) == len(deals) == after["opportunities"]
    copy = next(o for o in deals if o.id.endswith("~3"))
    original = next(o for o in deals if o.id == copy.id.removesuffix("~3"))
    assert copy.model_dump(exclude={"id"}) == original.model_dump(exclude={"id"})
    with pytest.raises(Rejected):
        crm.scale_up(2)


# The CRM timing out half-way through a collection


async def test_the_injected_timeout_strikes_mid_collection_then_recovers(
    tmp_path: Path, small_seed: Path
) -> None:
    crm = MockCRMConnector(crm_config(tmp_path, small_seed, fail_after_pages=2))
    request = ListOpportunities(page_size=50)
    first = await crm.list_opportunities(request)
    second = await crm.list_opportunities(request.model_copy(update={"cursor": first.next_cursor}))
    third = request.model_copy(update={"cursor": second.next_cursor})
    with pytest.raises(Transient) as timed_out:
        await crm.list_opportunities(third)
    assert timed_out.value.code == "timeout" and timed_out.value.retryable
    retried = await crm.list_opportunities(third)  # the same cursor picks up where it failed
    rest = await collect(crm.list_opportunities, third)
    assert retried.items == rest[: len(retried.items)]
    everything = [*first.items, *second.items, *rest]
    assert len({o.id for o in everything}) == len(everything) == 300


async def test_an_outage_outlasts_retries_until_it_ends(crm: MockCRMConnector) -> None:
    crm.sales_fault = PageFault(after=0, times=3)
    for _ in range(3):
        with pytest.raises(Transient):
            await crm.list_accounts({})
    assert (await crm.list_accounts({})).items


async def test_a_next_step_key_reused_for_another_step_conflicts(crm: MockCRMConnector) -> None:
    key = new_key()
    await crm.update_opportunity_next_step(
        NextStepUpdate(opportunity_id="OPP-000001", next_step="Demo"), idempotency_key=key
    )
    with pytest.raises(Rejected) as refused:
        await crm.update_opportunity_next_step(
            NextStepUpdate(opportunity_id="OPP-000001", next_step="Other"), idempotency_key=key
        )
    assert refused.value.code == "idempotency_key_reused"


# The command line


@pytest.mark.skipif(
    "crm" not in {ep.name for ep in entry_points(group="bpa.connectors")},
    reason="the crm connector's entry point is not installed yet",
)
def test_cli_imports_the_public_format(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bpa.cli import app

    folder = write_maven(tmp_path / "maven")
    env = {"BPA_HOME": str(tmp_path / "home"), "BPA_DATABASE_URL": f"sqlite:///{tmp_path}/b.db"}
    result = CliRunner().invoke(app, ["crm", "import-sales", str(folder), "--scale", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert "GTXPro" in result.output and "5 copied deals added" in result.output
