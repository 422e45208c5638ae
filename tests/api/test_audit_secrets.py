"""No configured secret reaches the audit trail, run outputs, approvals, logs or what the CLI
prints: a full `bpa demo` whose replies go through an SMTP server that wants a password, with
a model API key configured, then a decision through the API with an API key; then every
secret is searched for everywhere."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from bpa.cli import app
from bpa.config import Settings
from bpa.executor import Executor
from bpa.suite import Suite

cli = CliRunner()
SMTP_USER = "support-bot"


class _Mailbox:
    def __init__(self, password: str) -> None:
        self.password = password.encode()
        self.logins: list[bool] = []
        self.delivered = 0

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth: Any
    ) -> AuthResult:
        ok = isinstance(auth, LoginPassword) and auth.password == self.password
        self.logins.append(ok)
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.delivered += 1
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[_Mailbox, int, str]]:
    password = f"smtp-pw-{secrets.token_hex(12)}"
    box = _Mailbox(password)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=box.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box, port, password
    finally:
        controller.stop()


async def _decide_through_the_api(settings: Settings, api_key: str) -> list[str]:
    """An approver answers a waiting invoice through the API with its key; a worker carries
    the run on. Returns the response bodies."""
    from api import create_app

    served = create_app(settings)
    bodies: list[str] = []
    key = {"Authorization": f"Bearer {api_key}"}
    async with served.router.lifespan_context(served):
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as client:
            listed = await client.get("/runs", headers=key, params={"status": "waiting"})
            waiting = [r for r in listed.json()["data"] if r["flow"] == "invoice_processing"]
            answer = {"action": "reject", "comment": "secrets test: not ours"}
            url = f"/runs/{waiting[0]['id']}/resume"
            resumed = await client.post(url, headers=key, json=answer, params={"timeout": 0.1})
            assert resumed.status_code in (200, 202), resumed.text
            bodies += [listed.text, resumed.text]
    async with Suite.open(settings) as suite:
        await Executor(suite.runner, poll_interval=0.05).run_until_idle(timeout=120)
    return bodies


def _database_text(settings: Settings) -> str:
    """Every row of the engine's tables (runs with inputs, outputs and errors, events,
    approvals, the journal, ...) as text."""
    from bpa.db import open_engine
    from bpa.migrations import engine_metadata

    engine = open_engine(settings)
    rows: list[str] = []
    try:
        present = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            for table in engine_metadata().sorted_tables:
                if table.name in present:
                    rows += [
                        json.dumps(list(row), default=str) for row in conn.execute(select(table))
                    ]
    finally:
        engine.dispose()
    return "\n".join(rows)


@pytest.mark.slow  # a whole demo: about 20 s on two cores
def test_no_secret_reaches_events_outputs_logs_or_the_cli(
    mailbox: tuple[_Mailbox, int, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    box, port, smtp_password = mailbox
    model_key = f"sk-test-{secrets.token_hex(16)}"
    mail = {"smtp_host": "127.0.0.1", "smtp_port": port}
    mail |= {"username": SMTP_USER, "password": smtp_password}
    monkeypatch.setenv("BPA_CONNECTORS", json.dumps({"mail": mail}))
    monkeypatch.setenv("BPA_OPENAI_API_KEY", model_key)
    caplog.set_level(logging.DEBUG)
    printed: list[str] = []

    created = cli.invoke(app, ["keys", "create", "--role", "approver", "--name", "auditor"])
    assert created.exit_code == 0, created.output
    api_key = created.stdout.strip()  # shown once, on purpose: the only place it may appear
    assert api_key.startswith("bpa_")

    demo = cli.invoke(app, ["demo"], env={"COLUMNS": "200"})
    assert demo.exit_code == 0, demo.output
    printed.append(demo.output)
    assert box.logins and all(box.logins) and box.delivered, "the replies went through SMTP"

    settings = Settings()
    printed += asyncio.run(_decide_through_the_api(settings, api_key))
    for command in (
        ["runs", "list", "--limit", "1000", "--json"],
        ["connectors", "list"],
        ["connectors", "check"],
        ["audit", "verify"],
        ["audit", "export"],
    ):
        result = cli.invoke(app, command, env={"COLUMNS": "200"})
        printed.append(result.output)
    assert "audit trail intact" in printed[-2], printed[-2]
    for line in printed[0].splitlines():  # every run the demo printed, shown in full
        for word in line.split():
            if word.startswith("run_") and word.isidentifier():
                printed.append(cli.invoke(app, ["runs", "show", word, "--json"]).output)

    stored = _database_text(settings)
    files = "\n".join(
        path.read_bytes().decode("utf-8", "replace")
        for path in settings.home.rglob("*")
        if path.is_file()
    )
    logged = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    assert "decision_recorded" in stored and "auditor" in stored  # the decision and who
    for name, secret in (("SMTP", smtp_password), ("model", model_key), ("API", api_key)):
        for where, text in (
            ("the database", stored),
            ("a file in BPA_HOME", files),
            ("the logs", logged),
            ("the CLI's or the API's output", "\n".join(printed)),
        ):
            assert secret not in text, f"the {name} secret reached {where}"
        key_secret = api_key.rpartition("_")[2]
        assert key_secret not in stored + files + logged + "\n".join(printed)
