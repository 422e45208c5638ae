"""The sales-operations flow's input and state.

The state stays small on purpose: the CRM records themselves live in the flow's snapshot
table (flows/sales_operations/snapshot.py), not in the checkpointed state, so a checkpoint
of a run over 100,000 deals is a few kilobytes.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SalesOpsInput", "SalesOpsState"]


def _merge(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    return {**old, **new}


class SalesOpsInput(BaseModel):
    """What a run reviews and how."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    as_of: dt.date | None = Field(
        default=None,
        description="The day the review is for ('today' for stalled and past-close checks); "
        "default: the day the run starts (UTC). The fixtures are as of 2025-06-30.",
    )
    stalled_days: int = Field(
        default=30, ge=1, le=365, description="An engaged deal with no activity this long stalls"
    )
    top_n: int = Field(
        default=5,
        ge=0,
        le=50,
        description="How many opportunities (and risks) get drafts and next-step tasks",
    )
    full_refresh: bool = Field(
        default=False,
        description="Collect everything again instead of what changed since the last run "
        "(also drops records the CRM no longer has), and recompute every step instead of "
        "reusing the results of unchanged data",
    )


class SalesOpsState(TypedDict, total=False):
    as_of: str
    """The review date (ISO), resolved from the input."""
    stalled_days: int
    top_n: int
    full_refresh: bool
    collection: dict[str, Any]
    """How the data was collected: mode, pages, rows changed and held per record type, the
    watermark to save when the run succeeds, the snapshot's content `revision`, and
    `problem` when the CRM gave up part-way."""
    reused: Annotated[dict[str, str], _merge]
    """Steps whose result was reused (nothing they read changed), each with the run that
    computed it."""
    partial: bool
    """True when the numbers rest on an incomplete collection (the report says so)."""
    data_quality: list[dict[str, Any]]
    """Problems found in the data: code, severity, message, count, example ids."""
    numbers: dict[str, Any]
    """Every number of the report (`analysis.analyse`)."""
    opportunities: list[dict[str, Any]]
    """Ranked open deals worth pushing, each with its evidence and the reason it is listed;
    `value_imputed` marks a value filled in from a list price."""
    risks: list[dict[str, Any]]
    """Ranked open deals at risk, each with its evidence and the reason it is listed."""
    ranking: dict[str, Any]
    """Which model ranked them and how confident it was."""
    report: dict[str, Any]
    """Where the report files are: dir, html, markdown."""
    drafts: list[dict[str, Any]]
    """E-mail drafts for the top opportunities (never sent by this flow)."""
    tasks: list[dict[str, Any]]
    """Next-step tasks per deal: created, or found from an earlier run this week."""
    skipped: list[str]
    """Steps not taken, with the reason (e.g. no CRM updates on partial data)."""
