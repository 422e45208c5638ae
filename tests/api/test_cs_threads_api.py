"""A customer's follow-up sent to the API continues the run that asked (issue #14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from conftest import settle, with_worker

from api import create_app
from bpa.auth import Role
from bpa.config import Settings
from bpa.suite import Suite

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _chat(body: str, message_id: str) -> dict[str, Any]:
    return {
        "input": {
            "channel": "chat",
            "body": body,
            "sender": {"email": "raj.santos4322@example.com", "verified": True},
            "message_id": message_id,
            "session_id": "api-session-7",
        }
    }


async def test_a_follow_up_post_resumes_the_waiting_run(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", fixtures_dir=FIXTURES, executor_poll_s=0.05)
    app = create_app(settings, open_suite=with_worker(Suite.open))
    async with app.router.lifespan_context(app):
        _record, secret = app.state.services.keys.create(Role.operator, name="op")
        headers = {"Authorization": f"Bearer {secret}"}
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bpa.test", headers=headers
        ) as client:
            url = "/flows/customer_service/runs"
            asked = await client.post(
                url,
                json=_chat(
                    "I'm thinking about returning the electric kettle from order #W1630030, "
                    "it is louder than I expected. How would that work?",
                    "api-chat-1",
                ),
            )
            assert asked.status_code == 202 and asked.json()["resumed"] is False
            run_id = asked.json()["id"]
            waiting = await settle(client, run_id, timeout=60)
            assert waiting["status"] == "waiting"
            assert waiting["question"]["question"]["kind"] == "customer_reply"

            answer = await client.post(url, json=_chat("Yes, please go ahead.", "api-chat-2"))
            assert answer.status_code == 202, answer.text
            assert answer.json()["id"] == run_id and answer.json()["resumed"] is True
            assert answer.headers["Location"] == f"/runs/{run_id}"
            done = await settle(client, run_id, timeout=60)
            assert done["status"] == "succeeded", done["error"]
            assert [a["action"] for a in done["output"]["actions"]] == ["return_items"]

            again = await client.post(url, json=_chat("Yes, please go ahead.", "api-chat-2"))
            assert again.status_code == 200 and again.json()["id"] == run_id
            assert again.headers["Idempotent-Replayed"] == "true"
            runs = (await client.get("/runs")).json()["data"]
            assert [r["id"] for r in runs] == [run_id]
