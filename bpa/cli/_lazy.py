"""Commands whose module is imported only when they run or show their own help; usage
errors as one line.

`bpa --help` lists every command by name and one line of help, which this table holds, so
listing them imports none of them; `bpa serve`, `bpa schedules ...` or `bpa demo` import
their module (and what it needs: the database layer, uvicorn, the demo's data) when they
are invoked. tests/bpa/test_cli_imports.py checks that each line here is the command's own.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup
from typer.main import get_group

__all__ = ["Lazy", "LazyGroup", "load"]


@dataclass(frozen=True, slots=True)
class Lazy:
    """A command (a function) or a group of commands (a `typer.Typer`) in another module."""

    module: str
    attr: str
    help: str


def load(name: str, spec: Lazy) -> _click.Command:
    """Import the command's module and build its click command under `name`."""
    target: Any = getattr(importlib.import_module(spec.module), spec.attr)
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return get_group(holder).commands[name]


class LazyGroup(TyperGroup):
    """A `TyperGroup` that also offers the commands in `lazy`, loading each on first use."""

    lazy: ClassVar[Mapping[str, Lazy]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listing = False

    def list_commands(self, ctx: _click.Context) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(name for name in self.lazy if name not in self.commands)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        found = super().get_command(ctx, cmd_name)
        spec = self.lazy.get(cmd_name)
        if found is not None or spec is None:
            return found
        if self._listing:  # the group's own help: a name and a line are all it shows
            return TyperCommand(cmd_name, help=spec.help)
        command = load(cmd_name, spec)
        self.commands[cmd_name] = command
        return command

    def invoke(self, ctx: _click.Context) -> Any:
        """Usage errors (an unknown command, a missing argument, a file that does not exist)
        as one line naming the fix, exit code 2, instead of typer's usage box."""
        try:
            return super().invoke(ctx)
        except _click.exceptions.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            typer.echo(f"error: {exc.format_message()} (see: {where} --help)", err=True)
            raise typer.Exit(2) from None

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
