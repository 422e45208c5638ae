"""The mocked helpdesk: the shared conformance suite, then what is special to the mock."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import pytest

from connectors.errors import Rejected, Transient
from connectors.schemas import (
    Requester,
    TicketCommentCreate,
    TicketCreate,
    TicketRef,
    TicketUpdate,
)
from connectors.testing import TicketingConnectorTests, new_key
from connectors.ticketing import MockTicketingConnector


class TestMockTicketing(TicketingConnectorTests):
    connector_class = MockTicketingConnector
    config: ClassVar[dict[str, Any]] = {"database_url": "sqlite:///{tmp_path}/tickets.db"}


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def _request(**changes: Any) -> TicketCreate:
    fields: dict[str, Any] = {
        "subject": "Refund please",
        "requester": Requester(customer_id="noah_brown_6181"),
        "priority": "urgent",
    }
    return TicketCreate(**(fields | changes))


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tickets.db'}"


async def test_health_counts_open_tickets_past_their_sla(tmp_path: Path) -> None:
    clock = Clock(dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC))
    desk = MockTicketingConnector({"database_url": _url(tmp_path)}, clock=clock)
    urgent = await desk.create_ticket(_request(), idempotency_key=new_key())
    await desk.create_ticket(_request(priority="low"), idempotency_key=new_key())
    assert urgent.sla_due_at == dt.datetime(2025, 3, 3, 13, 0, tzinfo=dt.UTC)
    assert (await desk.health())["overdue"] == 0
    clock.now += dt.timedelta(hours=5)
    health = await desk.health()
    assert health["overdue"] == 1 and health["tickets"] == {"new": 2}
    await desk.update_ticket(
        TicketUpdate(ticket_id=urgent.id, status="solved"), idempotency_key=new_key()
    )
    assert (await desk.health())["overdue"] == 0


async def test_tickets_and_keys_survive_a_restart(tmp_path: Path) -> None:
    first = MockTicketingConnector({"database_url": _url(tmp_path)})
    key = new_key()
    ticket = await first.create_ticket(_request(), idempotency_key=key)
    await first.add_reply(
        TicketCommentCreate(ticket_id=ticket.id, body="We are on it."), idempotency_key=new_key()
    )
    await first.aclose()
    second = MockTicketingConnector({"database_url": _url(tmp_path)})
    again = await second.create_ticket(_request(), idempotency_key=key)
    assert again == ticket
    stored = await second.get_ticket(TicketRef(ticket_id=ticket.id))
    assert [c.body for c in stored.comments] == ["We are on it."]


def test_concurrent_updates_of_one_ticket_do_not_overwrite_each_other(tmp_path: Path) -> None:
    """Two processes move the same new ticket at once: one wins, the other is told to retry
    (or is refused by the workflow after the winner's move), never both."""
    setup = MockTicketingConnector({"database_url": _url(tmp_path)})
    ticket = asyncio.run(setup.create_ticket(_request(), idempotency_key=new_key()))

    def move(status: str) -> str:
        desk = MockTicketingConnector({"database_url": _url(tmp_path)})
        try:
            asyncio.run(
                desk.update_ticket(
                    TicketUpdate(ticket_id=ticket.id, status=status), idempotency_key=new_key()
                )
            )
            return "ok"
        except (Transient, Rejected) as exc:
            return exc.code
        finally:
            desk.engine.dispose()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(move, ["pending_customer", "solved"]))
    final = asyncio.run(setup.get_ticket(TicketRef(ticket_id=ticket.id)))
    assert "ok" in results
    if results == ["ok", "ok"]:
        # the only order in which both moves are allowed: new -> pending_customer -> solved
        assert final.status == "solved"
    else:
        assert set(results) - {"ok"} <= {"concurrent_update", "invalid_transition"}


async def test_a_closed_ticket_takes_no_updates(tmp_path: Path) -> None:
    desk = MockTicketingConnector({"database_url": _url(tmp_path)})
    ticket = await desk.create_ticket(_request(status="open"), idempotency_key=new_key())
    assert ticket.status == "open"
    for status in ("solved", "closed"):
        await desk.update_ticket(
            TicketUpdate(ticket_id=ticket.id, status=status), idempotency_key=new_key()
        )
    with pytest.raises(Rejected) as refused:
        await desk.update_ticket(
            TicketUpdate(ticket_id=ticket.id, status="open"), idempotency_key=new_key()
        )
    assert refused.value.code == "ticket_closed"
    with pytest.raises(Rejected) as refused:
        await desk.update_ticket(
            TicketUpdate(ticket_id=ticket.id, assignee="a", unassign=True),
            idempotency_key=new_key(),
        )
    assert refused.value.code in ("ticket_closed", "invalid_request")
