"""End-state scoring of the customer-service flow after tau-bench's retail tasks.

    /work/venv/bin/python benchmarks/cs_tau_end_state.py [--split dev|train|all] [--limit N]
        [--no-confirm] [--json FILE] [--show N] [--data DIR] [--knowledge-auth CHANNELS]

For each task of ``../shared/datasets/tau-retail/tasks_{dev,train}.json``:

1. A customer message is built from the task's instruction (rewritten in the first person,
   persona sentences dropped, tau's option dicts written as words). The auth policy is
   declared, not implied (and printed): when the instruction gives an e-mail address, the
   message is an e-mail FROM that address (the first one given), as a real customer would
   send it, and the sender's address identifies them; otherwise it is a chat message from a
   sender no session vouches for, and the customer authenticates with the name and zip code
   the instruction gives, which the run allows for chat (``--knowledge-auth chat``, tau's
   retail policy; the suite's default allows it nowhere). A chat answer restates the name
   and zip code, since without a session nothing ties it to the first message.
2. The flow runs on it through the engine (`Suite`, offline backend by default; with
   ``BPA_MODEL_BACKEND=openai`` and ``BPA_OPENAI_*`` set, the same command scores that
   endpoint) against a fresh copy of the CRM seeded from tau's full data. A refund waiting
   for approval is approved (the benchmark plays the approver). When the flow asks the
   customer to confirm, the customer answers "yes" once, as tau's simulated user would
   (``--no-confirm``: no second turn).
3. The gold actions are replayed on another fresh copy through the same connector.
4. Pass when both CRMs end equal: for every order of the task's customer and every order
   either side wrote to, status, items and payment history (and return/exchange requests
   and cancel reason); and the customer's default address. Only connector writes change the
   CRM, and both copies start identical, so these records are all that can differ.

Tasks whose gold actions the mocked CRM itself refuses are reported and left out.
Without the data set the script says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import re
import shutil
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

from bpa.config import Settings  # noqa: E402
from bpa.suite import Suite  # noqa: E402
from connectors.crm import MockCRMConnector  # noqa: E402
from connectors.errors import ConnectorError  # noqa: E402
from connectors.schemas import CustomerOrders, CustomerRef, OrderRef  # noqa: E402

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

_PERSONA = re.compile(r"^You are (?:[a-z]+(?:,\s*|\s+and\s+|\s*))+\.$")
_DICT = re.compile(r"\{[^{}]*\}")
_PRONOUNS = [
    (r"\bYour\b", "My"),
    (r"\byour\b", "my"),
    (r"\byours\b", "mine"),
    (r"\bYou've\b", "I've"),
    (r"\byou've\b", "I've"),
    (r"\bYou'd\b", "I'd"),
    (r"\byou'd\b", "I'd"),
    (r"\bYou're\b", "I'm"),
    (r"\byou're\b", "I'm"),
    (r"\bYou'll\b", "I'll"),
    (r"\byou'll\b", "I'll"),
    (r"\bYou are\b", "I am"),
    (r"\byou are\b", "I am"),
    (r"\byourself\b", "myself"),
    (r"(^|[.!?]\s+|\b(?:and|but|so|that|if|because|when|as|since|or)\s+)you\b", r"\1I"),
    (r"\bYou\b", "I"),
    (r"\byou\b", "me"),
]


def _words_of_dict(match: re.Match[str]) -> str:
    try:
        data = ast.literal_eval(match.group(0))
    except (ValueError, SyntaxError):
        return match.group(0)
    if not isinstance(data, dict):
        return match.group(0)
    if "address1" in data:
        street = ", ".join(str(data[k]) for k in ("address1", "address2") if data.get(k))
        return (
            f"{street}, {data.get('city')}, {data.get('state')} {data.get('zip')}, "
            f"{data.get('country', 'USA')}"
        )
    if not data:  # tau's "to {}": a new item with the same options
        return "a new one with the same options"
    return "(" + ", ".join(f"{k} {v}" for k, v in data.items() if k != "order_id") + ")"


_ZIP = re.compile(r"\bzip code is (\d{5})\b")


def identity_sentence(message: dict[str, Any]) -> str:
    """What an unverified chat customer restates in an answer: their name and zip code."""
    name = message["sender"].get("name")
    zip_code = _ZIP.search(message["body"])
    if message["channel"] != "chat" or not (name and zip_code):
        return ""
    return f" My name is {name} and my zip code is {zip_code.group(1)}."


def customer_message(task: dict[str, Any], number: str) -> dict[str, Any]:
    instruction = _DICT.sub(_words_of_dict, task["instruction"])
    sentences = re.split(r"(?<=[.!?])\s+", instruction.strip())
    kept = [s for s in sentences if not _PERSONA.match(s)]
    text = " ".join(kept)
    for pattern, replacement in _PRONOUNS:
        text = re.sub(pattern, replacement, text)
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


async def run_task(
    suite: Suite,
    template: Path,
    work: Path,
    task: dict[str, Any],
    number: str,
    data: Path,
    confirm: bool,
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
        "gold_error": gold_error,
    }
    run = await suite.runner.start("customer_service", message, trigger="benchmark")
    runs = [run]
    if run.status == "waiting":
        run = await suite.runner.resume(run.id, {"action": "approve"}, by="benchmark")
        record["approved"] += 1
    if (
        confirm
        and run.status == "succeeded"
        and (run.output or {}).get("decision", {}).get("outcome") == "confirm"
    ):
        answer = {
            **message,
            "subject": "Re: Help with my orders",
            "body": "Yes, please go ahead." + identity_sentence(message),
            "message_id": message["message_id"].replace("@", "-yes@"),
            "in_reply_to": message["message_id"],
        }
        run = await suite.runner.start("customer_service", answer, trigger="benchmark")
        record["turns"] = 2
        if run.status == "waiting":
            run = await suite.runner.resume(run.id, {"action": "approve"}, by="benchmark")
            record["approved"] += 1
        runs.append(run)
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
        gold=[a["name"] for a in task["actions"] if a["name"] in _GOLD],
        done=[a["action"] for r in runs for a in (r.output or {}).get("actions", []) if a["ok"]],
        passed=want == got,
    )
    for connector in copies:
        await connector.aclose()
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
    seed = args.data / "data"
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
                            suite, template, work, task, number, seed, not args.no_confirm
                        )
                    )
                    bar.advance(progress)
        elapsed = time.perf_counter() - started
    scored = [r for r in records if not r["gold_error"]]
    passed = sum(r["passed"] for r in scored)
    table = Table(title="outcomes (scored tasks)")
    for column in ("outcome", "tasks", "passed"):
        table.add_column(column)
    by_outcome = Counter(r["outcome"] for r in scored)
    for outcome, n in by_outcome.most_common():
        table.add_row(
            str(outcome), str(n), str(sum(r["passed"] for r in scored if r["outcome"] == outcome))
        )
    console.print(table)
    for r in [r for r in scored if not r["passed"]][: args.show]:
        console.print(
            f"  {r['task']}: gold {r['gold']} / done {r['done']} ({r['outcome']}: {r['reason']})"
        )
    no_action = sum(not r["gold"] for r in scored)
    rate = passed / len(scored) if scored else 0.0
    console.print(
        f"pass rate {rate:.1%} ({passed}/{len(scored)}) on backend {settings.model_backend}; "
        f"{len(records) - len(scored)} tasks left out (gold refused by the mocked CRM); "
        f"{no_action} scored tasks need no write; "
        f"{sum(r['approved'] for r in records)} approvals given; {elapsed:.0f} s"
    )
    console.print(auth_policy(settings))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "pass_rate": rate,
                    "passed": passed,
                    "scored": len(scored),
                    "auth_policy": auth_policy(settings),
                    "records": records,
                },
                indent=2,
            )
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("dev", "train", "all"), default="all")
    parser.add_argument("--limit", type=int, default=0, help="only the first N tasks")
    parser.add_argument(
        "--no-confirm", action="store_true", help="do not answer the flow's confirmation question"
    )
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
