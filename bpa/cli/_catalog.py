"""`bpa flows ...` and `bpa connectors ...`: what is installed, and whether it works."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bpa.cli._common import console, fail, print_json, with_suite
from bpa.flows import FlowRegistry

if TYPE_CHECKING:
    from bpa.suite import Suite

__all__ = ["connectors_app", "flows_app"]

flows_app = typer.Typer(help="Installed flows (entry-point group bpa.flows).", no_args_is_help=True)
connectors_app = typer.Typer(
    help="Installed connectors (entry-point group bpa.connectors).", no_args_is_help=True
)


@flows_app.command("list")
def flows_list() -> None:
    """List the installed flows."""
    infos = FlowRegistry().load_all()  # no database or connectors needed
    table = Table(title="flows")
    for column in ("name", "version", "uses", "description / problem"):
        table.add_column(column, overflow="fold")
    for name, info in sorted(infos.items()):
        if info.flow is None:
            table.add_row(name, "", "", f"[red]{info.problem}[/red]")
        else:
            table.add_row(
                name, info.flow.version, ", ".join(info.flow.connectors), info.flow.description
            )
    console.print(table)


@flows_app.command("graph")
def flows_graph(name: Annotated[str, typer.Argument(help="Flow name")]) -> None:
    """Print the flow's graph as Mermaid (paste into any Mermaid viewer)."""

    async def work(suite: Suite) -> str:
        return suite.runner.graph(name).get_graph().draw_mermaid()

    typer.echo(with_suite(work))


@flows_app.command("versions")
def flows_versions(
    name: Annotated[str, typer.Argument(help="Flow name")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """List the versions of FLOW that runs were created on, oldest first, with their runs
    by status; the installed version is marked. A version is a hash of the flow's graph,
    its prompt and template files and its package's version."""
    from bpa.cli._common import with_records
    from bpa.cli._stats import status_counts
    from bpa.runs.versions import version_runs
    from bpa.versions import version_of

    info = FlowRegistry().get(name)
    installed = version_of(info.flow).id if info is not None and info.flow is not None else None
    versions = with_records(lambda records: version_runs(records.engine, name))
    if info is None and not versions:
        fail(f"no flow {name!r} is installed, and no run was created on one of that name")
    if installed is not None and all(v["version"] != installed for v in versions):
        versions.append({"version": installed, "runs": {}, "first_seen": None})
    for entry in versions:
        entry["installed"] = entry["version"] == installed
    if as_json:
        print_json(versions)
        return
    table = Table(title=f"versions of {name}")
    for column in ("version", "installed", "first seen", "declared", "package", "runs"):
        table.add_column(column, overflow="fold")
    for entry in versions:
        first = entry.get("first_seen")
        table.add_row(
            entry["version"],
            "yes" if entry["installed"] else "",
            first.strftime("%Y-%m-%d %H:%M:%S") if first else "",
            entry.get("declared") or "",
            entry.get("package") or "",
            status_counts(entry["runs"]),
        )
    console.print(table)


@connectors_app.command("list")
def connectors_list(
    as_json: Annotated[bool, typer.Option("--json", help="Include the action schemas")] = False,
) -> None:
    """List connectors with their actions, side effects and how each is undone."""

    async def work(suite: Suite) -> Any:
        return suite.connector_infos

    infos = with_suite(work)
    if as_json:
        print_json(
            {
                name: {
                    "kind": info.kind,
                    "problems": info.problems,
                    "capabilities": sorted(info.cls.capabilities) if info.cls else [],
                    "config_schema": (
                        info.cls.config_model.model_json_schema()
                        if info.cls and info.cls.config_model
                        else None
                    ),
                    "actions": [spec.describe() for spec in (info.actions or {}).values()],
                }
                for name, info in infos.items()
            }
        )
        return
    table = Table(title="connectors")
    for column in ("name", "kind", "action", "side effect", "undo"):
        table.add_column(column, overflow="fold")
    for name, info in sorted(infos.items()):
        if info.problems:
            table.add_row(
                name, info.kind or "", "[red]" + "; ".join(info.problems) + "[/red]", "", ""
            )
        for spec in (info.actions or {}).values():
            undo = spec.describe()["undo"] or ""
            table.add_row(
                name, info.kind or "", spec.name, "yes" if spec.side_effect else "", str(undo)
            )
    console.print(table)


@connectors_app.command("config")
def connectors_config(
    name: Annotated[str, typer.Argument(help="Connector name, as `bpa connectors list` shows it")],
) -> None:
    """Show what a connector's configuration takes, and how to set it (BPA_CONNECTORS)."""
    from connectors.registry import load_connectors

    infos = load_connectors()
    info = infos.get(name)
    if info is None or info.cls is None:
        known = ", ".join(sorted(infos)) or "none"
        fail(f"no connector {name!r} is installed (installed: {known})")
    model = info.cls.config_model
    table = Table(title=f"{name} ({info.kind}) configuration")
    for column in ("field", "type", "required", "default", "description"):
        table.add_column(column, overflow="fold")
    fields = model.model_fields if model is not None else {}
    for field_name, field in fields.items():
        required = field.is_required()
        table.add_row(
            field_name,
            getattr(field.annotation, "__name__", str(field.annotation)),
            "yes" if required else "",
            "" if required else ("(built)" if field.default_factory else repr(field.default)),
            field.description or "",
        )
    console.print(table)
    if info.cls.capabilities:
        console.print("capabilities: " + ", ".join(sorted(info.cls.capabilities)))
    console.print(
        "Set it as JSON in BPA_CONNECTORS, keyed by connector name, e.g. "
        f"BPA_CONNECTORS='{{\"{name}\": {{...}}}}'. Fields the suite fills in itself "
        "(database_url, seed) may be left out."
    )


@connectors_app.command("check")
def connectors_check() -> None:
    """Validate every connector's declaration and call its health check (exit 1 on a problem)."""

    async def work(suite: Suite) -> dict[str, Any]:
        report: dict[str, Any] = {}
        for name in suite.connector_infos:
            if name in suite.connector_problems:
                report[name] = {"ok": False, "problem": suite.connector_problems[name]}
                continue
            try:
                report[name] = {"ok": True, **await suite.connectors[name].health()}
            except Exception as exc:
                report[name] = {"ok": False, "problem": f"{type(exc).__name__}: {exc}"}
        return report

    report = with_suite(work)
    for name, result in sorted(report.items()):
        mark = "[green]ok[/green]" if result["ok"] else "[red]FAIL[/red]"
        detail = result.get("problem") or {k: v for k, v in result.items() if k != "ok"}
        console.print(f"{mark} {name}: {detail}")
    if not report:
        console.print("no connectors installed")
    if not all(r["ok"] for r in report.values()):
        raise typer.Exit(1)
