"""The report's charts: matplotlib PNGs as `data:` URIs, so the HTML is one portable file.

Drawn with matplotlib's object API (`Figure`, no pyplot): no global state, safe when
several runs render at once. Each chart answers one question a sales manager asks; the
numbers come from the analysis dict only.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

__all__ = ["render_charts"]

_BLUE, _GREEN, _RED, _GREY, _AMBER = "#2f6db3", "#2e9a5b", "#c8453b", "#9aa3ad", "#d9912b"
_STAGE_COLOURS = {"Prospecting": _GREY, "Engaging": _BLUE, "Won": _GREEN, "Lost": _RED}


def _dollars(value: float, _pos: Any = None) -> str:
    for size, suffix, digits in ((1e9, "B", 1), (1e6, "M", 1), (1e3, "k", 0)):
        if abs(value) >= size:
            return f"${value / size:,.{digits}f}{suffix}"
    return f"${value:,.0f}"


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def _tidy(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)


def pipeline_chart(numbers: dict[str, Any]) -> str:
    stages = numbers["pipeline_by_stage"]
    fig = _figure(9, 3.4)
    count_ax, value_ax = fig.subplots(1, 2)
    names = [s["stage"] for s in stages]
    colours = [_STAGE_COLOURS.get(n, _GREY) for n in names]
    bars = count_ax.bar(names, [s["count"] for s in stages], color=colours)
    count_ax.bar_label(bars, labels=[f"{s['count']:,}" for s in stages], fontsize=8)
    count_ax.set_title("Deals by stage", fontsize=11)
    values = [s["estimated_value"] for s in stages]
    bars = value_ax.bar(names, values, color=colours)
    value_ax.bar_label(bars, labels=[_dollars(v) for v in values], fontsize=8)
    value_ax.set_title("Value by stage (open: estimated, won: booked)", fontsize=11)
    value_ax.yaxis.set_major_formatter(FuncFormatter(_dollars))
    for ax in (count_ax, value_ax):
        _tidy(ax)
    return _png(fig)


def win_rate_chart(numbers: dict[str, Any]) -> str:
    agents = sorted(
        (a for a in numbers["by_agent"] if a["win_rate"] is not None),
        key=lambda a: (a["win_rate"], a["name"]),
    )
    fig = _figure(8, max(2.5, 0.24 * len(agents) + 1))
    ax = fig.subplots()
    team = numbers["totals"]["win_rate"]
    colours = [_GREEN if team is None or a["win_rate"] >= team else _AMBER for a in agents]
    bars = ax.barh([a["name"] for a in agents], [a["win_rate"] for a in agents], color=colours)
    labels = [f"{a['win_rate']:.0%} of {a['won'] + a['lost']}" for a in agents]
    ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
    if team is not None:
        ax.axvline(team, color="#333", linestyle="--", linewidth=1, zorder=0)
        ax.text(team, len(agents) - 0.3, f" team {team:.0%}", fontsize=8, va="bottom")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, 1.08)
    ax.set_title("Win rate by agent (won / closed)", fontsize=11)
    ax.tick_params(axis="y", labelsize=8)
    _tidy(ax)
    return _png(fig)


def trend_chart(numbers: dict[str, Any]) -> str:
    months = numbers["won_by_month"]
    fig = _figure(9, 3.2)
    ax = fig.subplots()
    labels = [m["month"] for m in months]
    ax.bar(range(len(months)), [m["won_value"] for m in months], color=_GREEN)
    step = max(1, len(months) // 12)
    ax.set_xticks(range(0, len(months), step), labels[::step], rotation=45, ha="right")
    ax.yaxis.set_major_formatter(FuncFormatter(_dollars))
    ax.set_title("Won value by month of close", fontsize=11)
    _tidy(ax)
    return _png(fig)


def stalled_chart(numbers: dict[str, Any]) -> str:
    agents = sorted(
        (a for a in numbers["by_agent"] if a["stalled"]),
        key=lambda a: (-a["stalled_value"], a["name"]),
    )[:15][::-1]
    fig = _figure(8, max(2.2, 0.3 * len(agents) + 1))
    ax = fig.subplots()
    days = numbers["stalled_days"]
    if not agents:
        ax.text(
            0.5,
            0.5,
            f"No engaged deal has been idle for more than {days} days",
            ha="center",
            va="center",
            fontsize=10,
        )
        ax.set_axis_off()
        return _png(fig)
    bars = ax.barh([a["name"] for a in agents], [a["stalled_value"] for a in agents], color=_RED)
    labels = [f"{a['stalled']} deal{'s' if a['stalled'] != 1 else ''}" for a in agents]
    ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
    ax.xaxis.set_major_formatter(FuncFormatter(_dollars))
    ax.set_title(f"Stalled deals (no activity > {days} days): value at stake by agent", fontsize=11)
    ax.tick_params(axis="y", labelsize=8)
    _tidy(ax)
    return _png(fig)


def render_charts(numbers: dict[str, Any]) -> dict[str, str]:
    """Every chart of the report, by name, as a PNG `data:` URI."""
    return {
        "pipeline": pipeline_chart(numbers),
        "win_rate": win_rate_chart(numbers),
        "trend": trend_chart(numbers),
        "stalled": stalled_chart(numbers),
    }
