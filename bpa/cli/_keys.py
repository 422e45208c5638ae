"""`bpa keys ...`: API keys for `bpa serve` (stored hashed; a key is shown once)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bpa.auth import ApiKeyStore, KeyNotFound, Role
from bpa.cli._common import console, err
from bpa.config import Settings
from bpa.db import create_schema, open_engine

__all__ = ["key_store", "keys_app"]

keys_app = typer.Typer(
    help="API keys for the HTTP API. Roles: viewer < operator < approver < admin.",
    no_args_is_help=True,
)


def key_store(settings: Settings | None = None) -> ApiKeyStore:
    engine = open_engine(settings or Settings())
    create_schema(engine)
    return ApiKeyStore(engine)


@keys_app.command("create")
def keys_create(
    role: Annotated[
        Role,
        typer.Option(
            help="viewer reads; operator starts and cancels runs; "
            "approver answers them; admin manages schedules "
            "and keys"
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Whose key it is, e.g. ap-team")] = None,
) -> None:
    """Create a key and print it. It is stored hashed: copy it now, it is not shown again."""
    record, secret = key_store().create(role, name)
    err.print(
        f"created key {record.id} ({record.role.value}"
        + (f", {record.name}" if record.name else "")
        + "); it is shown only once:"
    )
    typer.echo(secret)


@keys_app.command("list")
def keys_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked keys")] = False,
) -> None:
    """List keys (never their secrets)."""
    keys = key_store().list(include_revoked=include_revoked)
    table = Table(title=f"{len(keys)} API keys")
    table.add_column("id", no_wrap=True, min_width=max((len(k.id) for k in keys), default=2))
    for column in ("name", "role", "created", "last used", "revoked"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            key.id,
            key.name or "",
            key.role.value,
            key.created_at.strftime("%Y-%m-%d %H:%M"),
            key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "",
            key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (`bpa keys list`)")],
) -> None:
    """Revoke a key; requests with it are refused from then on."""
    try:
        record = key_store().revoke(key_id)
    except KeyNotFound as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"revoked key {record.id} ({record.role.value})")
