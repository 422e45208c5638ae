"""E-mail drafts for the top opportunities: what the model is given, and how a draft is kept.

A draft is an RFC 5322 message saved as a file beside the report, marked
``X-BPA-Status: draft``. Nothing here sends mail: an agent reviews and sends it (or a later,
approved step does).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

__all__ = ["draft_variables", "save_draft", "split_subject"]

_ASKS = {
    "Prospecting": (
        "a short call about your priorities",
        "Could we find 30 minutes next week for a short call? Reply with a time that suits "
        "you and I will send an invitation.",
    ),
    "closing": (
        "next steps towards a decision",
        "If the proposal meets your needs, I can send the order form this week. Is anything "
        "still open on your side that I can help with?",
    ),
    "Engaging": (
        "a proposal review",
        "Could we review the proposal together with the decision makers next week? I am happy "
        "to adapt it to anything that has changed.",
    ),
}


def draft_variables(item: dict[str, Any]) -> dict[str, Any]:
    """The template variables of one opportunity's e-mail (for the prompt and the offline
    message template alike), from the ranked item (insights.py)."""
    contact = item.get("contact") or {}
    days = item.get("days_to_close")
    closing = item["stage"] == "Engaging" and days is not None and days <= 14
    subject_step, ask = _ASKS["closing" if closing else item["stage"]]
    return {
        "opportunity_id": item["opportunity_id"],
        "agent": item["agent"],
        "agent_title": None,
        "contact_name": contact.get("name"),
        "contact_title": contact.get("title"),
        "account": item.get("account"),
        "product": item["product"],
        "stage": item["stage"],
        "close_date": item.get("close_date"),
        "headline": item["headline"],
        "next_step": item["next_step"],
        "subject_step": subject_step,
        "ask": ask,
    }


def split_subject(text: str, fallback: str) -> tuple[str, str]:
    """("Subject: ..." first line, the rest) of a generated e-mail."""
    lines = text.strip().splitlines()
    if lines and lines[0].lower().startswith("subject:"):
        return lines[0].split(":", 1)[1].strip() or fallback, "\n".join(lines[1:]).strip()
    return fallback, text.strip()


def save_draft(folder: Path, draft: dict[str, Any], run_id: str) -> Path:
    """Write one draft as an .eml file marked as a draft; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    message = EmailMessage()
    message["From"] = draft["from"]
    if draft.get("to"):
        message["To"] = draft["to"]
    message["Subject"] = draft["subject"]
    message["X-BPA-Status"] = "draft (not sent; review before sending)"
    message["X-BPA-Run"] = run_id
    message["X-BPA-Opportunity"] = draft["opportunity_id"]
    message.set_content(draft["body"], cte="8bit")  # readable as a file, no =-wrapping
    path = folder / f"{_file_stem(str(draft['opportunity_id']))}.eml"
    path.write_bytes(bytes(message))
    return path


def _file_stem(name: str) -> str:
    """A CRM id as a file name in the run's own folder: no separators, no leading dot."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:100]
    return stem or "draft"
