"""The mocked CRM's retail half: the shared conformance suite, then what is special to the mock
(seeding from tau-bench's format, persistence, money on gift cards, concurrent writers)."""

from __future__ import annotations

import asyncio
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.crm import MockCRMConnector
from connectors.crm._retail_seed import RetailSeedError
from connectors.errors import ConnectorError, Rejected
from connectors.schemas import (
    Address,
    CancelOrder,
    CatalogueProductRef,
    CustomerActivitySearch,
    CustomerRef,
    ExchangeItems,
    ModifyOrderItems,
    ModifyOrderPayment,
    OrderRef,
    UpdateCustomerAddress,
)
from connectors.testing import RetailCRMConnectorTests, new_key

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "crm"
USERS = json.loads((SEED / "users.json").read_text())
ORDERS = json.loads((SEED / "orders.json").read_text())


@pytest.fixture(scope="module")
def retail_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped retail files alone (no sales folder beside them), so only retail seeds."""
    folder = tmp_path_factory.mktemp("seed") / "crm"
    folder.mkdir()
    for name in ("users.json", "orders.json", "products.json"):
        shutil.copy(SEED / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory, retail_seed: Path) -> Path:
    """Seeded once; each test works on its own copy."""
    path = tmp_path_factory.mktemp("template") / "crm.db"
    crm = MockCRMConnector({"database_url": f"sqlite:///{path}", "seed": str(retail_seed)})
    crm.engine.dispose()
    return path


@pytest.fixture
def db_url(tmp_path: Path, template_db: Path) -> str:
    shutil.copy(template_db, tmp_path / "crm.db")
    return f"sqlite:///{tmp_path / 'crm.db'}"


@pytest.fixture
def crm(db_url: str) -> MockCRMConnector:
    return MockCRMConnector({"database_url": db_url})


class TestMockCRMRetail(RetailCRMConnectorTests):
    connector_class = MockCRMConnector
    customer_ids = sorted(USERS)

    @pytest.fixture
    def connector_config(self, db_url: str) -> dict[str, Any]:
        return {"database_url": db_url}


def _order(predicate: Any) -> tuple[str, dict[str, Any]]:
    return next((oid, o) for oid, o in sorted(ORDERS.items()) if predicate(o))


def _gift_card(user_id: str) -> dict[str, Any] | None:
    methods = USERS[user_id]["payment_methods"].values()
    return next((m for m in methods if m["source"] == "gift_card"), None)


# Seeding


def test_seeding_loads_the_fixtures_once(tmp_path: Path, retail_seed: Path) -> None:
    config = {"database_url": f"sqlite:///{tmp_path / 'crm.db'}", "seed": str(retail_seed)}
    first = MockCRMConnector(config)
    exported = first.export_retail()
    assert set(exported["users"]) == set(USERS) and set(exported["orders"]) == set(ORDERS)
    assert first.retail_counts() == {
        "customers": len(USERS),
        "orders": len(ORDERS),
        "products": 50,
        "open_tasks": 0,
    }
    asyncio.run(
        first.cancel_order(
            CancelOrder(
                order_id=_order(lambda o: o["status"] == "pending")[0], reason="no longer needed"
            ),
            idempotency_key=new_key(),
        )
    )
    again = MockCRMConnector(config)
    assert again.export_retail() != exported, "a restart must not reseed over changes"
    assert again.retail_counts()["orders"] == len(ORDERS)


def test_the_seed_comes_back_as_written(crm: MockCRMConnector) -> None:
    exported = crm.export_retail()
    for order_id, order in list(sorted(ORDERS.items()))[:40]:
        got = exported["orders"][order_id]
        assert got["status"] == order["status"] and got["customer_id"] == order["user_id"]
        assert [(i["item_id"], Decimal(i["price"])) for i in got["items"]] == [
            (i["item_id"], Decimal(str(i["price"]))) for i in order["items"]
        ]
        assert [f["tracking_ids"] for f in got["fulfilments"]] == [
            f["tracking_id"] for f in order["fulfillments"]
        ]
        assert [Decimal(p["amount"]) for p in got["payment_history"]] == [
            Decimal(str(p["amount"])) for p in order["payment_history"]
        ]
    for user_id, user in list(sorted(USERS.items()))[:40]:
        got = exported["users"][user_id]
        assert got["orders"] == user["orders"] and got["address"] == user["address"]
        for method_id, method in user["payment_methods"].items():
            if method["source"] == "gift_card":
                balance = got["payment_methods"][method_id]["balance"]
                assert Decimal(balance) == Decimal(str(method["balance"]))


def test_a_folder_without_retail_files_seeds_no_customers(tmp_path: Path) -> None:
    crm = MockCRMConnector(
        {"database_url": f"sqlite:///{tmp_path / 'crm.db'}", "seed": str(tmp_path)}
    )
    assert crm.retail_counts()["customers"] == 0


def test_broken_seed_data_fails_loudly(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    user_id = next(uid for uid, user in sorted(USERS.items()) if user["orders"])
    order_id = USERS[user_id]["orders"][0]
    (folder / "users.json").write_text(json.dumps({user_id: USERS[user_id] | {"orders": []}}))
    (folder / "orders.json").write_text(json.dumps({order_id: ORDERS[order_id]}))
    shutil.copy(SEED / "products.json", folder / "products.json")
    with pytest.raises(RetailSeedError, match="does not list it"):
        MockCRMConnector({"database_url": f"sqlite:///{tmp_path / 'crm.db'}", "seed": str(folder)})


# Persistence and idempotency


async def test_a_change_and_its_key_survive_a_restart(db_url: str) -> None:
    order_id, _ = _order(lambda o: o["status"] == "pending")
    request, key = CancelOrder(order_id=order_id, reason="no longer needed"), new_key()
    first = MockCRMConnector({"database_url": db_url})
    cancelled = await first.cancel_order(request, idempotency_key=key)
    first.engine.dispose()
    second = MockCRMConnector({"database_url": db_url})
    assert await second.cancel_order(request, idempotency_key=key) == cancelled
    assert (await second.get_order(OrderRef(order_id=order_id))).status == "cancelled"


# Money on gift cards


async def test_cancelling_a_gift_card_order_puts_the_money_back_at_once(
    crm: MockCRMConnector,
) -> None:
    order_id, order = _order(
        lambda o: (
            o["status"] == "pending"
            and o["payment_history"][0]["payment_method_id"].startswith("gift_card")
        )
    )
    card_id = order["payment_history"][0]["payment_method_id"]
    before = (await crm.get_customer(CustomerRef(customer_id=order["user_id"]))).payment_method(
        card_id
    )
    assert before is not None and before.balance is not None
    await crm.cancel_order(
        CancelOrder(order_id=order_id, reason="ordered by mistake"), idempotency_key=new_key()
    )
    after = (await crm.get_customer(CustomerRef(customer_id=order["user_id"]))).payment_method(
        card_id
    )
    paid = sum(Decimal(str(p["amount"])) for p in order["payment_history"])
    assert after is not None and after.balance == before.balance + paid


async def test_a_gift_card_must_cover_a_payment_change(crm: MockCRMConnector) -> None:
    def poor_card(order: dict[str, Any]) -> bool:
        card = _gift_card(order["user_id"])
        total = sum(Decimal(str(i["price"])) for i in order["items"])
        return (
            order["status"] == "pending"
            and card is not None
            and len(order["payment_history"]) == 1
            and order["payment_history"][0]["payment_method_id"] != card["id"]
            and Decimal(str(card["balance"])) < total
        )

    order_id, order = _order(poor_card)
    card = _gift_card(order["user_id"])
    assert card is not None
    with pytest.raises(Rejected) as refused:
        await crm.modify_order_payment(
            ModifyOrderPayment(order_id=order_id, payment_method_id=card["id"]),
            idempotency_key=new_key(),
        )
    assert refused.value.code == "insufficient_balance"
    unchanged = await crm.get_order(OrderRef(order_id=order_id))
    assert len(unchanged.payment_history) == 1


async def test_listing_an_item_with_its_own_id_keeps_it(crm: MockCRMConnector) -> None:
    """tau-bench's gold actions sometimes "change" an item to itself; that item stays."""
    order_id, order = _order(lambda o: o["status"] == "pending" and len(o["items"]) >= 1)
    item = order["items"][0]
    method = order["payment_history"][0]["payment_method_id"]
    product = await crm.get_catalogue_product(CatalogueProductRef(product_id=item["product_id"]))
    if not next(v for v in product.variants if v.item_id == item["item_id"]).available:
        pytest.skip("the first pending order's item is no longer sold")
    changed = await crm.modify_order_items(
        ModifyOrderItems(
            order_id=order_id,
            item_ids=[item["item_id"]],
            new_item_ids=[item["item_id"]],
            payment_method_id=method,
        ),
        idempotency_key=new_key(),
    )
    assert changed.status == "pending (item modified)"
    assert [i.item_id for i in changed.items] == [i["item_id"] for i in order["items"]]
    assert len(changed.payment_history) == len(order["payment_history"]), "no money moved"


async def test_the_same_exchange_in_another_order_leaves_the_same_record(
    crm: MockCRMConnector, db_url: str, tmp_path: Path, template_db: Path
) -> None:
    async def two_swaps(order: dict[str, Any]) -> list[tuple[str, str]] | None:
        swaps = []
        for item in order["items"]:
            product = await crm.get_catalogue_product(
                CatalogueProductRef(product_id=item["product_id"])
            )
            other = next(
                (v for v in product.variants if v.available and v.item_id != item["item_id"]),
                None,
            )
            if other is not None and item["item_id"] not in [s[0] for s in swaps]:
                swaps.append((item["item_id"], other.item_id))
        return swaps[:2] if len(swaps) >= 2 else None

    for order in sorted(ORDERS.values(), key=lambda o: str(o["order_id"])):
        if order["status"] == "delivered" and (swaps := await two_swaps(order)):
            break
    else:
        pytest.fail("no delivered order with two exchangeable items")
    method = order["payment_history"][0]["payment_method_id"]
    shutil.copy(template_db, tmp_path / "other.db")
    other = MockCRMConnector({"database_url": f"sqlite:///{tmp_path / 'other.db'}"})
    for connector, pairs in ((crm, swaps), (other, swaps[::-1])):
        try:
            await connector.exchange_items(
                ExchangeItems(
                    order_id=order["order_id"],
                    item_ids=[old for old, _ in pairs],
                    new_item_ids=[new for _, new in pairs],
                    payment_method_id=method,
                ),
                idempotency_key=new_key(),
            )
        except Rejected as exc:
            pytest.skip(f"exchange refused by the data: {exc.code}")
    assert crm.export_retail() == other.export_retail()


# Concurrent writers


def test_two_processes_cancelling_one_order_refund_it_once(db_url: str) -> None:
    order_id, order = _order(lambda o: o["status"] == "pending")

    def cancel(_: int) -> str:
        crm = MockCRMConnector({"database_url": db_url})
        try:
            asyncio.run(
                crm.cancel_order(
                    CancelOrder(order_id=order_id, reason="no longer needed"),
                    idempotency_key=new_key(),
                )
            )
            return "ok"
        except ConnectorError as exc:
            return exc.code
        finally:
            crm.engine.dispose()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(cancel, range(4)))
    assert results.count("ok") == 1
    assert set(results) - {"ok"} <= {"invalid_status", "concurrent_update"}
    final = asyncio.run(
        MockCRMConnector({"database_url": db_url}).get_order(OrderRef(order_id=order_id))
    )
    refunds = [p for p in final.payment_history if p.transaction_type == "refund"]
    assert len(refunds) == len({p["payment_method_id"] for p in order["payment_history"]})


async def test_a_customers_address_change_is_logged(crm: MockCRMConnector) -> None:
    user_id = sorted(USERS)[1]
    new = Address(address1="1 New Road", city="Austin", state="TX", country="USA", zip="78701")
    await crm.update_customer_address(
        UpdateCustomerAddress(customer_id=user_id, address=new), idempotency_key=new_key()
    )
    [entry] = await crm.list_customer_activities(CustomerActivitySearch(customer_id=user_id))
    assert entry.kind == "account_change" and "1 New Road" in entry.body
    assert USERS[user_id]["address"]["address1"] in entry.body
