"""The sales review's lists: evidence decides, a guessed value does not, and no deal twice.

The fixtures price "Citadel 500" at $26,500, and open deals have no value in the CRM, so
every open Citadel 500 deal is valued at that list price. Ranked by value, those deals (and,
in a CRM holding copies of them, their copies) filled every list; the checks below are what
a sales manager reading the report would notice.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bpa.config import Settings
from bpa.suite import Suite
from flows.sales_operations.ranking import pick, value_weight

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "crm_sales"
AS_OF = json.loads((FIXTURES / "manifest.json").read_text())["as_of"]
FLAGSHIP = "Citadel 500"
FLOW = "sales_operations"


def crm(suite: Suite) -> Any:
    return suite.connectors["crm"]


@pytest.fixture
async def suite(settings: Settings) -> Any:
    async with Suite.open(settings) as opened:
        yield opened


def open_without_value(suite: Suite) -> set[str]:
    query = "SELECT id FROM crm_s_opportunities WHERE value IS NULL AND stage IN "
    with suite.engine.connect() as conn:
        return {r[0] for r in conn.execute(text(query + "('Prospecting', 'Engaging')"))}


def assert_varied(rows: list[dict[str, Any]], key: str, size: int) -> None:
    originals = [r[key].split("~")[0] for r in rows]  # scale_up names copies <id>~<k>
    assert len(set(originals)) == len(originals), f"a deal and its copy both listed: {originals}"
    looks = [
        (r["account"] or r["agent"], r["product"], r["stage"], r["estimated_value"]) for r in rows
    ]
    assert len(set(looks)) == len(looks), "near-identical deals listed twice"
    per_product = Counter(r["product"] for r in rows)
    assert max(per_product.values()) <= -(-size // 3), per_product


async def test_top_lists_rest_on_evidence_and_show_varied_deals(suite: Suite) -> None:
    crm(suite).scale_up(2)  # every deal twice: the look-alikes a bulk import makes
    run = await suite.runner.start(FLOW, {"as_of": AS_OF}, trigger="test")
    assert run.status == "succeeded", run.error
    out = run.output or {}
    guessed = open_without_value(suite)

    for key in ("opportunities", "risks"):
        items = out[key]
        assert len(items) == 10
        assert_varied(items, "opportunity_id", 10)
        assert sum(i["product"] == FLAGSHIP for i in items) < len(items) / 2
        for item in items:
            assert item["value_imputed"] == (item["opportunity_id"] in guessed)
            assert item["reason"] and len(item["reason"]) < 300
            if item["value_imputed"]:
                assert "imputed" in item["reason"] and "imputed" in item["value_source"]
        evidence = {e["label"]: e["value"] for e in items[0]["evidence"]}
        assert "imputed" in evidence["estimated value"]
    best = out["opportunities"][0]
    assert best["stage"].lower() in best["reason"] and "win chance" in best["reason"]

    numbers = out["numbers"]
    assert numbers["counts"]["open_imputed"] == len(guessed)
    for listing in ("stalled", "past_close"):
        rows = numbers[listing]["deals"]
        assert rows and all(r["reason"] for r in rows)
        assert all(r["value_imputed"] == (r["id"] in guessed) for r in rows)
        assert_varied([{**r, "opportunity_id": r["id"]} for r in rows], "opportunity_id", 20)

    html = Path(out["report_html"]).read_text()
    assert "imputed (list price)" in html and "Listed because:" in html
    assert out["opportunities"][0]["reason"] in html
    summary = Path(out["report_markdown"]).read_text()
    assert f"because: {out['risks'][0]['reason']}" in summary


def test_an_imputed_value_moves_a_deal_less_than_a_recorded_one() -> None:
    typical = 3000.0
    imputed = [value_weight(v, True, typical) for v in (60, 3000, 26_500, 10**7)]
    recorded = [value_weight(v, False, typical) for v in (60, 3000, 26_500, 10**7)]
    assert min(imputed) == 0.8 and max(imputed) == 1.25 and imputed[1] == 1.0
    assert min(recorded) == 0.5 and max(recorded) == 2.0
    assert value_weight(26_500, True, None) == 1.0  # nothing to compare with: no effect


def test_pick_keeps_one_of_each_look_alike_and_fills_from_what_the_caps_held_back() -> None:
    deals = [
        (100.0 - n, f"D{n:02d}", {"acct": "A", "product": "P", "twin": n // 3}) for n in range(9)
    ]
    deals += [(1.0, "E00", {"acct": "B", "product": "Q", "twin": "e"})]
    chosen = pick(
        deals,
        4,
        twin=lambda d: d["twin"],
        account=lambda d: d["acct"],
        product=lambda d: d["product"],
    )
    scores = [score for score, _ in chosen]
    assert scores == [100.0, 97.0, 94.0, 1.0]  # best first
    twins = [d["twin"] for _, d in chosen]
    assert len(set(twins)) == len(twins) == 4  # D00, D03, E00, and D06 the account cap held
    assert [d["acct"] for _, d in chosen].count("A") == 3
