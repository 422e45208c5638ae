"""Renders the review: an HTML report with charts and a Markdown summary, from templates/.

One sandboxed Jinja2 environment with StrictUndefined (a missing number is an error, not an
empty cell) and HTML autoescaping (account and product names come from the CRM, and a
name with markup in it must show as text).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["append_actions", "render_report", "report_dir"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _money(value: Any) -> str:
    return "n/a" if value is None else f"${value:,.0f}"


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:,}"


@cache
def _env() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=_money, pct=_pct, num=_num)
    return env


def report_dir(home: Path, run_id: str) -> Path:
    return home / "reports" / run_id


def render_report(folder: Path, context: dict[str, Any], charts: dict[str, str]) -> dict[str, str]:
    """Write report.html (with `charts`, from charts.py, embedded) and summary.md into
    `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    context = {
        **context,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "charts": charts,
    }
    html = folder / "report.html"
    html.write_text(_env().get_template("report.html.j2").render(**context), encoding="utf-8")
    markdown = folder / "summary.md"
    markdown.write_text(_env().get_template("summary.md.j2").render(**context), encoding="utf-8")
    return {
        "dir": str(folder),
        "html": str(html),
        "markdown": str(markdown),
        "url": html.resolve().as_uri(),
    }


def append_actions(markdown: Path, context: dict[str, Any]) -> None:
    """Add what the run did (drafts written, tasks created) to the summary."""
    text = _env().get_template("actions.md.j2").render(**context)
    with markdown.open("a", encoding="utf-8") as fh:
        fh.write(text)
