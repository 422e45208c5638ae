"""`bpa keys ...` and the bind check of `bpa serve`."""

from __future__ import annotations

from typer.testing import CliRunner

from bpa.cli import app
from bpa.cli._serve import check_bind

cli = CliRunner()


def test_keys_create_list_revoke() -> None:
    created = cli.invoke(app, ["keys", "create", "--role", "approver", "--name", "ann"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("bpa_") and len(secret.split("_")) == 3
    assert "shown only once" in created.stderr

    listed = cli.invoke(app, ["keys", "list"])
    assert "ann" in listed.stdout and "approver" in listed.stdout
    assert secret not in listed.stdout and secret.split("_")[2] not in listed.stdout
    key_id = secret.split("_")[1]

    revoked = cli.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0 and key_id in revoked.stdout
    assert "ann" not in cli.invoke(app, ["keys", "list"]).stdout
    assert "ann" in cli.invoke(app, ["keys", "list", "--all"]).stdout
    missing = cli.invoke(app, ["keys", "revoke", "nope"])
    assert missing.exit_code == 2 and "bpa keys list" in missing.stderr

    wrong_role = cli.invoke(app, ["keys", "create", "--role", "boss"])
    assert wrong_role.exit_code == 2


def test_serve_refuses_an_open_server_off_loopback() -> None:
    refused = cli.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert refused.exit_code == 2
    assert "refusing to serve on 0.0.0.0" in refused.stderr
    assert "bpa keys create" in refused.stderr
    assert check_bind("0.0.0.0", has_keys=True) is None
    assert check_bind("127.0.0.1", has_keys=False) is None
    assert check_bind("::1", has_keys=False) is None
    assert check_bind("192.168.0.10", has_keys=False) is not None
