"""`bpa new connector|flow NAME`: start a plug-in package from the SDK's templates.

The package it writes installs and passes its own tests as generated; see bpa/scaffold/.
Imports the templates and connector kinds only when a command runs (the CLI stays cheap).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from bpa.cli._common import console, fail

__all__ = ["new_app"]

new_app = typer.Typer(
    help="Start a connector or flow package that installs and passes its tests as generated.",
    no_args_is_help=True,
)

Directory = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        file_okay=False,
        help="Where to write the package (default: ./NAME); it must not exist, or be empty.",
    ),
]


def _kind_names(incomplete: str) -> list[str]:
    from bpa.scaffold import installed_kinds

    return [kind for kind in installed_kinds() if kind.startswith(incomplete)]


def _write(
    name: str, what: str, directory: Path | None, render: Callable[[], dict[str, str]]
) -> None:
    from bpa.scaffold import ScaffoldError, check_name, write_package

    target = directory if directory is not None else Path(name)
    try:
        check_name(name, what)
        files = render()
        write_package(files, target)
    except ScaffoldError as exc:
        fail(str(exc))
    console.print(f"wrote {len(files)} files to {target}/:", markup=False, highlight=False)
    for relative in files:
        console.print(f"  {relative}", markup=False, highlight=False)
    step = "bpa connectors check" if what == "connector" else f"bpa run {name} --input input.json"
    console.print(
        f"next: pip install -e '{target}[dev]' && cd {target} && python -m pytest && {step}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@new_app.command("connector")
def new_connector(
    name: Annotated[
        str,
        typer.Argument(help="lower snake case: the package, the entry point and `name`"),
    ],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="The kind of system, e.g. crm or ticketing (an unknown one lists them all). "
            "crm: a working tasks skeleton; others: typed stubs of every action.",
            autocompletion=_kind_names,
        ),
    ],
    directory: Directory = None,
) -> None:
    """Write a connector package: entry point, connector, README, conformance tests."""
    from bpa.scaffold import connector_package

    _write(name, "connector", directory, lambda: connector_package(name, kind))


@new_app.command("flow")
def new_flow(
    name: Annotated[
        str, typer.Argument(help="lower snake case: the package, the entry point and the flow")
    ],
    directory: Directory = None,
) -> None:
    """Write a flow package: a two-step graph that creates a CRM task, and its test."""
    from bpa.scaffold import flow_package

    _write(name, "flow", directory, lambda: flow_package(name))
