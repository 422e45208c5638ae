"""Next-step tasks on deals: one per deal per week, however often the review runs.

The idempotency key is derived from the deal and the ISO week of `as_of`, not from the run,
so a second run that week (a re-run after a failure, a manual run beside the schedule)
finds the first run's task instead of adding another. The key is also written into the
task's description, so the check works from the CRM's own data: a task created by an earlier
run is found with `list_tasks` even if the connector's idempotency ledger was lost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.errors import Conflict
from connectors.schemas import TaskCreate, TaskSearch

__all__ = ["create_followup", "task_key", "task_request"]

RELATED_TYPE = "opportunity"
KEY_MARK = "bpa-key: "
_DUE_DAYS = {"opportunity": 5, "risk": 2}


def task_key(opportunity_id: str, as_of: dt.date) -> str:
    year, week, _ = as_of.isocalendar()
    return f"sales_operations:next_step:{opportunity_id}:{year}-W{week:02d}"


def task_request(item: dict[str, Any], as_of: dt.date, key: str) -> TaskCreate:
    kind = item["kind"]
    due = dt.datetime.combine(as_of + dt.timedelta(days=_DUE_DAYS[kind]), dt.time(17), dt.UTC)
    evidence = "\n".join(f"- {e['label']}: {e['value']}" for e in item["evidence"])
    why = "Opportunity" if kind == "opportunity" else "Risk"
    description = (
        f"{why} from the weekly sales review as of {as_of.isoformat()}:\n{item['headline']}\n\n"
        f"Evidence:\n{evidence}\n\n{KEY_MARK}{key}"
    )
    return TaskCreate(
        subject=f"Next step: {item['next_step']}"[:200],
        description=description[:10_000],
        due_at=due,
        related_type=RELATED_TYPE,
        related_id=item["opportunity_id"],
        owner=item.get("agent"),
        priority="high" if kind == "risk" else "normal",
    )


async def create_followup(crm: Any, item: dict[str, Any], as_of: dt.date) -> dict[str, Any]:
    """Create the deal's task for this week unless one exists; says which happened."""
    key = task_key(item["opportunity_id"], as_of)
    earlier = await crm.list_tasks(
        TaskSearch(related_type=RELATED_TYPE, related_id=item["opportunity_id"], limit=500)
    )
    for task in earlier:
        if f"{KEY_MARK}{key}" in task.description:
            return {
                "opportunity_id": item["opportunity_id"],
                "task_id": task.id,
                "status": "exists",
                "key": key,
                "note": f"created earlier, now {task.status}",
            }
    try:
        task = await crm.create_task(task_request(item, as_of, key), idempotency_key=key)
    except Conflict as exc:  # the key was used this week for a task the CRM no longer lists
        return {
            "opportunity_id": item["opportunity_id"],
            "task_id": None,
            "status": "exists",
            "key": key,
            "note": exc.message,
        }
    return {
        "opportunity_id": item["opportunity_id"],
        "task_id": task.id,
        "status": "created",
        "key": key,
        "note": None,
    }
