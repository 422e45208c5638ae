"""End-state scoring of the customer-service flow after tau-bench's retail tasks.

    /work/venv/bin/python benchmarks/cs_tau_end_state.py [--split dev|train|all] [--limit N]
        [--single-shot [--no-confirm]] [--max-turns N] [--task dev-4] [--json FILE]
        [--show N] [--data DIR] [--knowledge-auth CHANNELS]

For each task of ``../shared/datasets/tau-retail/tasks_{dev,train}.json``:

1. A customer message is built from the task's instruction (rewritten in the first person,
   persona sentences dropped, tau's option dicts written as words). The auth policy is
   declared, not implied (and printed): when the instruction gives an e-mail address, the
   message is an e-mail FROM that address (the first one given), as a real customer would
   send it, and the sender's address identifies them; otherwise it is a chat message from a
   sender no session vouches for, and the customer authenticates with the name and zip code
   the instruction gives, which the run allows for chat (``--knowledge-auth chat``, tau's
   retail policy; the suite's default allows it nowhere).
2. The flow runs on it through the engine (`Suite`, offline backend by default; with
   ``BPA_MODEL_BACKEND=openai`` and ``BPA_OPENAI_*`` set, the same command scores that
   endpoint) against a fresh copy of the CRM seeded from tau's full data. A refund waiting
   for approval is approved (the benchmark plays the approver).
3. Conversation mode (the default): while our reply asks the customer something (a question,
   a proposal to confirm, who they are) and fewer than ``--max-turns`` customer messages
   were sent, a simulated customer (``_cs_customer.py``) answers, knowing only the task's
   instruction and the user's profile (never the gold actions, never the CRM beyond the
   profile): rule-based offline, a chat model on the openai backend, as tau-bench does. The
   answer is delivered by `send_follow_up` as a reply in the same thread. ``--single-shot``:
   the old mode, one message and a single "yes" when the flow asks to confirm
   (``--no-confirm``: not even that). A chat answer without a session restates the name and
   zip code, since nothing else ties it to the first message.
4. The gold actions are replayed on another fresh copy through the same connector.
5. Pass when both CRMs end equal: for every order of the task's customer and every order
   either side wrote to, status, items and payment history (and return/exchange requests
   and cancel reason); and the customer's default address. Only connector writes change the
   CRM, and both copies start identical, so these records are all that can differ.
6. Policy-breaking writes are counted from the CRM's own change log after the run: a write
   on another customer's order or account, on an order in a status the action is not
   allowed in (cancel/modify: pending; return/exchange: delivered), or a refund to a method
   the policy does not allow (returns and cancellations: the order's own method or a gift
   card; price differences: one of the customer's methods).

Per split it prints pass^1, mean and median turns, tasks ended by the turn limit and the
policy-breaking writes.
Tasks whose gold actions the mocked CRM itself refuses are reported and left out.
Without the data set the script says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _cs_customer import (  # noqa: E402
    Customer,
    LLMCustomer,
    Profile,
    Question,
    RuleCustomer,
    first_person,
)

from bpa.config import Settings  # noqa: E402
from bpa.suite import Suite  # noqa: E402
from connectors.crm import MockCRMConnector  # noqa: E402
from connectors.errors import ConnectorError  # noqa: E402
from connectors.schemas import CustomerOrders, CustomerRef, OrderRef  # noqa: E402
from flows.customer_service.state import CustomerMessage  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "tau-retail"
_ADDRESS_KEYS = ("address1", "address2", "city", "state", "country", "zip")
_GOLD: dict[str, str] = {
    "cancel_pending_order": "cancel_order",
    "modify_pending_order_address": "modify_order_address",
    "modify_pending_order_items": "modify_order_items",
    "modify_pending_order_payment": "modify_order_payment",
    "return_delivered_order_items": "return_items",
    "exchange_delivered_order_items": "exchange_items",
    "modify_user_address": "update_customer_address",
}

# -- the customer's message -----------------------------------------------------------------

_ZIP = re.compile(r"\bzip code is (\d{5})\b")


def identity_sentence(message: dict[str, Any]) -> str:
    """What an unverified chat customer restates in an answer: their name and zip code."""
    name = message["sender"].get("name")
    zip_code = _ZIP.search(message["body"])
    if message["channel"] != "chat" or not (name and zip_code):
        return ""
    return f" My name is {name} and my zip code is {zip_code.group(1)}."


def customer_message(task: dict[str, Any], number: str) -> dict[str, Any]:
    text = " ".join(first_person(task["instruction"]))
    email = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)
    name = re.search(r"My name is ([A-Z][a-z]+) ([A-Z][a-z]+)", text)
    return {
        "channel": "email" if email else "chat",  # e-mail: From the address it gives
        "subject": "Help with my orders",
        "body": f"Hello,\n\n{text}\n\nThank you",
        "sender": {
            "email": email.group(0) if email else None,
            "name": " ".join(name.groups()) if name else None,
        },
        "message_id": f"<tau-{number}@bench.invalid>",
    }


# -- the gold end state ----------------------------------------------------------------------


def _gold_request(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    if name == "modify_pending_order_address":
        return {
            "order_id": kwargs["order_id"],
            "address": {k: kwargs.get(k, "") for k in _ADDRESS_KEYS},
        }
    if name == "modify_user_address":
        return {
            "customer_id": kwargs["user_id"],
            "address": {k: kwargs.get(k, "") for k in _ADDRESS_KEYS},
        }
    return dict(kwargs)


async def replay_gold(crm: MockCRMConnector, task: dict[str, Any]) -> tuple[set[str], str | None]:
    touched: set[str] = set()
    for number, step in enumerate(task["actions"]):
        action = _GOLD.get(step["name"])
        if action is None:
            continue
        request = _gold_request(step["name"], step["kwargs"])
        if "order_id" in request:
            touched.add(request["order_id"])
        try:
            await getattr(crm, action)(request, idempotency_key=f"gold-{number}")
        except ConnectorError as exc:
            return touched, f"{step['name']}: {exc.code}: {exc}"
    return touched, None


async def end_state(crm: MockCRMConnector, user_id: str, order_ids: set[str]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    customer = await crm.get_customer(CustomerRef(customer_id=user_id))
    state["address"] = customer.address.model_dump()
    orders = {o.id: o for o in await crm.list_customer_orders(CustomerOrders(customer_id=user_id))}
    for order_id in order_ids - set(orders):
        try:
            orders[order_id] = await crm.get_order(OrderRef(order_id=order_id))
        except ConnectorError:
            continue
    for order_id, order in sorted(orders.items()):
        data = order.model_dump(mode="json")
        state[order_id] = {
            k: data[k]
            for k in (
                "status",
                "items",
                "payment_history",
                "cancel_reason",
                "return_request",
                "exchange_request",
                "address",
            )
        }
    return state


# -- running ----------------------------------------------------------------------------------


_APPROVER = "benchmark"
#: Which order statuses each CRM write is allowed on (tau's retail policy).
_ALLOWED_STATUS = {
    "cancel_order": {"pending"},
    "modify_order_address": {"pending"},
    "modify_order_items": {"pending"},
    "modify_order_payment": {"pending"},
    "return_items": {"delivered"},
    "exchange_items": {"delivered"},
}
#: Writes whose refunds may go only to the order's own payment method or a gift card.
_REFUND_TO_ORIGINAL = {"cancel_order", "return_items"}


async def settle(suite: Suite, run: Any, record: dict[str, Any]) -> Any:
    """Plays the approver: a refund waiting for a person's approval is approved."""
    while run.status == "waiting":
        pending = suite.runner.store.pending_approval(run.id)
        if pending is None or (pending.question or {}).get("kind") != "refund_approval":
            return run  # it waits for the customer
        run = await suite.runner.resume(run.id, {"action": "approve"}, by=_APPROVER)
        record["approved"] += 1
    return run


async def send_follow_up(
    suite: Suite, opening: dict[str, Any], asked: Any, text: str, turn: int
) -> Any:
    """Delivers the customer's answer to the question run `asked` ended (or waits) with, and
    returns the run that carries on with it.

    E-mail: a reply to our question's Message-ID (``delivery.message_id``) when the input
    carries the thread's references; before that, to the first message, whose ticket today's
    `find_thread` finds. Chat: the same session when the input has one; otherwise the
    customer restates name and zip code, since nothing else ties the answer to the chat.
    A run that waits for the answer continues after it; else the answer is a new run.
    """
    fields = CustomerMessage.model_fields
    delivery = (asked.output or {}).get("delivery") or {}
    first_id = opening["message_id"]
    answer = {
        **opening,
        "subject": f"Re: {opening['subject']}",
        "body": text,
        "message_id": first_id.replace("@", f"-{turn}@"),
        "in_reply_to": first_id,
    }
    if "references" in fields:
        answer["in_reply_to"] = delivery.get("message_id") or first_id
        answer["references"] = [first_id]
    if opening["channel"] == "chat":
        if "session_id" in fields and opening.get("session_id"):
            answer["session_id"] = opening["session_id"]
        else:
            answer["body"] = text + identity_sentence(opening)
    run = await suite.runner.start("customer_service", answer, trigger="benchmark")
    if asked.status == "waiting":
        resumed = suite.runner.store.get(asked.id)
        if resumed.status != "waiting" or resumed.updated_at != asked.updated_at:
            return resumed
    return run


def profile_of(data: Path, user_id: str) -> Profile:
    users = json.loads((data / "users.json").read_text())
    return Profile.from_user(users[user_id])


def simulated_customer(settings: Settings, instruction: str, profile: Profile) -> Customer:
    """Built from the instruction and the profile only: the gold actions never reach it."""
    if settings.model_backend == "openai":
        from langchain_openai import ChatOpenAI

        llm = ChatOpenAI(
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            temperature=0,
            timeout=settings.model_timeout_s,
        )
        return LLMCustomer(instruction, profile, llm)
    return RuleCustomer(instruction, profile)


def policy_breaks(flow_db: Path, template_db: Path, user_id: str) -> list[str]:
    """The writes tau's policy forbids, read from the CRM's own change log after the run:
    a write on another customer's order or account, a write on an order in a status the
    action is not allowed in, and a refund to a method the policy does not allow (returns and
    cancellations: the order's own method or a gift card; price differences: the customer's)."""
    before = sqlite3.connect(f"file:{template_db}?mode=ro", uri=True)
    after = sqlite3.connect(f"file:{flow_db}?mode=ro", uri=True)
    breaks: list[str] = []
    try:
        own = {
            row[0]: row[1]
            for row in before.execute(
                "SELECT id, source FROM crm_payment_methods WHERE customer_id = ?", (user_id,)
            )
        }
        changes = after.execute(
            "SELECT record_type, record_id, action, before_json, after_json FROM crm_changes "
            "ORDER BY created_at"
        ).fetchall()
        seen: dict[str, str] = {}
        for record_type, record_id, action, before_json, after_json in changes:
            if record_type == "customer":
                if record_id != user_id:
                    breaks.append(f"{action} on another customer's account")
                continue
            row = before.execute(
                "SELECT customer_id, status FROM crm_orders WHERE id = ?", (record_id,)
            ).fetchone()
            owner, status = row if row else (None, None)
            status = seen.get(record_id, status)
            if owner != user_id:
                breaks.append(f"{action} on {record_id} of another customer")
            if action in _ALLOWED_STATUS and status not in _ALLOWED_STATUS[action]:
                breaks.append(f"{action} on {record_id} while {status}")
            old, new = json.loads(before_json), json.loads(after_json)
            seen[record_id] = new["order"]["status"]
            paid = {p[3] for p in old["payments"] if p[1] == "payment"}
            for payment in new["payments"][len(old["payments"]) :]:
                method = payment[3]
                if payment[1] != "refund" or method in paid:
                    continue
                allowed = own.get(method) == "gift_card" or (
                    action not in _REFUND_TO_ORIGINAL and method in own
                )
                if not allowed:
                    breaks.append(f"{action} on {record_id} refunds to {method}")
    finally:
        before.close()
        after.close()
    return breaks


async def run_task(
    suite: Suite,
    template: Path,
    work: Path,
    task: dict[str, Any],
    number: str,
    data: Path,
    mode: str,
    max_turns: int,
) -> dict[str, Any]:
    copies = []
    for side in ("flow", "gold"):
        path = work / f"{side}.db"
        shutil.copy(template, path)
        copies.append(MockCRMConnector({"database_url": f"sqlite:///{path}", "seed": str(data)}))
    flow_crm, gold_crm = copies
    gold_touched, gold_error = await replay_gold(gold_crm, task)
    suite.runner.connectors["crm"] = flow_crm
    message = customer_message(task, number)
    record: dict[str, Any] = {
        "task": number,
        "user_id": task["user_id"],
        "turns": 1,
        "approved": 0,
        "turn_limit": False,
        "gold_error": gold_error,
        "conversation": [],
    }
    run = await settle(
        suite, await suite.runner.start("customer_service", message, trigger="benchmark"), record
    )
    runs = [run]
    customer: Customer | None = None
    if mode == "conversation":
        profile = profile_of(data, task["user_id"])
        customer = simulated_customer(suite.settings, task["instruction"], profile)
    while mode != "single-shot-no-confirm":
        question = Question.from_output(run.output or {})
        if mode == "single-shot":
            if record["turns"] > 1 or question.outcome != "confirm":
                break
            text: str | None = "Yes, please go ahead."
        else:
            assert customer is not None
            if not question.asks:
                break
            if record["turns"] >= max_turns:
                record["turn_limit"] = True
                break
            text = await customer.answer(question)
            if not text:
                break
        record["conversation"].append(
            {
                "asked": f"{question.outcome}: {question.reason}",
                "reply": question.reply,
                "answer": text,
            }
        )
        record["turns"] += 1
        run = await settle(
            suite, await send_follow_up(suite, message, run, text or "", record["turns"]), record
        )
        runs.append(run)
    runs = list({r.id: r for r in runs}.values())  # a run that waited is listed once, last
    flow_touched = {a.get("order_id") for r in runs for a in (r.output or {}).get("actions", [])}
    touched = gold_touched | {o for o in flow_touched if o}
    want = await end_state(gold_crm, task["user_id"], touched)
    got = await end_state(flow_crm, task["user_id"], touched)
    output = run.output or {}
    record.update(
        status=str(run.status),
        error=(run.error or {}).get("code"),
        intent=output.get("intent"),
        outcome=(output.get("decision") or {}).get("outcome"),
        reason=(output.get("decision") or {}).get("reason"),
        requests=[
            f"{q['intent']}: {q['outcome']} ({q['reason']}) {q['order_ids']}"
            for q in (output.get("decision") or {}).get("requests") or []
        ],
        gold=[a["name"] for a in task["actions"] if a["name"] in _GOLD],
        done=[a["action"] for r in runs for a in (r.output or {}).get("actions", []) if a["ok"]],
        passed=want == got,
    )
    for connector in copies:
        await connector.aclose()
    record["policy_breaks"] = policy_breaks(work / "flow.db", template, task["user_id"])
    return record


def auth_policy(settings: Settings) -> str:
    knowledge = ", ".join(settings.cs_knowledge_auth_channels) or "no channel"
    return (
        "auth policy: e-mail identifies by the From address (messages are sent from the "
        "address the instruction gives); chat senders carry no session; first name + last "
        f"name + zip code accepted on: {knowledge}"
    )


async def main_async(args: argparse.Namespace, console: Console) -> int:
    tasks: list[tuple[str, dict[str, Any]]] = []
    for split in ("dev", "train") if args.split == "all" else (args.split,):
        rows = json.loads((args.data / f"tasks_{split}.json").read_text())
        tasks += [(f"{split}-{i}", row) for i, row in enumerate(rows)]
    tasks = tasks[: args.limit] if args.limit else tasks
    if args.task:
        tasks = [(n, t) for n, t in tasks if n in args.task]
    seed = args.data / "data"
    mode = "conversation"
    if args.single_shot:
        mode = "single-shot-no-confirm" if args.no_confirm else "single-shot"
    with tempfile.TemporaryDirectory(prefix="bpa-tau-") as tmp:
        root = Path(tmp)
        template = root / "template.db"
        MockCRMConnector({"database_url": f"sqlite:///{template}", "seed": str(seed)})
        settings = Settings(
            home=root / "home",
            database_url=f"sqlite:///{root / 'bpa.db'}",
            cs_knowledge_auth_channels=args.knowledge_auth,
        )
        console.print(auth_policy(settings))
        records = []
        started = time.perf_counter()
        async with Suite.open(settings) as suite:
            columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console) as bar:
                progress = bar.add_task(f"tau retail ({settings.model_backend})", total=len(tasks))
                for number, task in tasks:
                    work = root / "work"
                    work.mkdir(exist_ok=True)
                    records.append(
                        await run_task(
                            suite, template, work, task, number, seed, mode, args.max_turns
                        )
                    )
                    bar.advance(progress)
        elapsed = time.perf_counter() - started
    splits = {}
    for split in dict.fromkeys(r["task"].split("-")[0] for r in records):
        splits[split] = report_split(
            console, split, [r for r in records if r["task"].startswith(split + "-")], args.show
        )
    console.print(
        f"mode {mode} (turn limit {args.max_turns}); backend {settings.model_backend}; "
        f"{sum(r['approved'] for r in records)} approvals given; {elapsed:.0f} s"
    )
    console.print(auth_policy(settings))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mode": mode,
                    "max_turns": args.max_turns,
                    "splits": splits,
                    "auth_policy": auth_policy(settings),
                    "records": records,
                },
                indent=2,
            )
        )
    return 0


def report_split(
    console: Console, split: str, records: list[dict[str, Any]], show: int
) -> dict[str, Any]:
    """Prints one split's numbers and returns them."""
    scored = [r for r in records if not r["gold_error"]]
    passed = sum(r["passed"] for r in scored)
    table = Table(title=f"{split}: outcomes (scored tasks)")
    for column in ("outcome", "tasks", "passed"):
        table.add_column(column)
    by_outcome = Counter(r["outcome"] for r in scored)
    for outcome, n in by_outcome.most_common():
        table.add_row(
            str(outcome), str(n), str(sum(r["passed"] for r in scored if r["outcome"] == outcome))
        )
    console.print(table)
    for r in [r for r in scored if not r["passed"]][:show]:
        console.print(
            f"  {r['task']}: gold {r['gold']} / done {r['done']} ({r['outcome']}: {r['reason']})"
            f" turns {r['turns']}"
        )
    breaks = [b for r in records for b in r["policy_breaks"]]
    for r in records:
        for b in r["policy_breaks"]:
            console.print(f"  [red]policy-breaking write[/red] {r['task']}: {b}")
    turns = [r["turns"] for r in scored] or [0]
    numbers = {
        "pass_rate": passed / len(scored) if scored else 0.0,
        "passed": passed,
        "scored": len(scored),
        "left_out": len(records) - len(scored),
        "mean_turns": statistics.mean(turns),
        "median_turns": statistics.median(turns),
        "turn_limit": sum(r["turn_limit"] for r in scored),
        "policy_breaking_writes": len(breaks),
    }
    console.print(
        f"{split}: pass^1 {numbers['pass_rate']:.1%} ({passed}/{len(scored)}); turns mean "
        f"{numbers['mean_turns']:.2f}, median {numbers['median_turns']}; "
        f"{numbers['turn_limit']} ended by the turn limit; "
        f"{len(breaks)} policy-breaking writes; "
        f"{numbers['left_out']} tasks left out (gold refused by the mocked CRM); "
        f"{sum(not r['gold'] for r in scored)} scored tasks need no write"
    )
    return numbers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("dev", "train", "all"), default="all")
    parser.add_argument("--limit", type=int, default=0, help="only the first N tasks")
    parser.add_argument(
        "--single-shot",
        action="store_true",
        help="the old mode: one message, and a single 'yes' when the flow asks to confirm",
    )
    parser.add_argument(
        "--no-confirm", action="store_true", help="with --single-shot: no second turn at all"
    )
    parser.add_argument(
        "--max-turns", type=int, default=8, help="customer messages per conversation (default 8)"
    )
    parser.add_argument("--task", action="append", help="only this task (e.g. dev-4); repeatable")
    parser.add_argument("--json", type=Path, help="write every task's result here")
    parser.add_argument("--show", type=int, default=15, help="failed tasks to list")
    parser.add_argument(
        "--knowledge-auth",
        type=lambda text: [c for c in text.split(",") if c],
        default=["chat"],
        metavar="CHANNELS",
        help="channels on which name + zip code authenticate (BPA_CS_KNOWLEDGE_AUTH_CHANNELS); "
        "default: chat, as tau's retail policy allows; '' for none, the suite's default",
    )
    args = parser.parse_args()
    console = Console()
    if not (args.data / "tasks_dev.json").exists() or not (args.data / "data").is_dir():
        console.print(
            f"[red]tau-retail data set not found at {args.data}[/red]: it lives in "
            "../shared/datasets (see its README); pass --data DIR"
        )
        return 2
    return asyncio.run(main_async(args, console))


if __name__ == "__main__":
    sys.exit(main())
