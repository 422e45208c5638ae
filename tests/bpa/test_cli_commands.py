"""The `bpa` command line as a user types it (in-process, own BPA_HOME per test)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bpa.cli import app

INVOICES = Path(__file__).resolve().parents[2] / "fixtures" / "invoices"
cli = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_run_prints_json_and_exit_code_follows_status() -> None:
    code, out = run(
        "run", "invoice_processing", "--input", str(INVOICES / "inv_04_lefevre_fr_classic.pdf")
    )
    assert code == 0, out
    result = json.loads(out)
    assert result["status"] == "succeeded"
    assert result["output"]["decision"] == "auto_approved"
    assert result["output"]["invoice_date"][:4] == "2026"

    code, out = run("run", "invoice_processing", "--input", str(INVOICES / "bad" / "corrupt.pdf"))
    assert code == 1
    assert json.loads(out)["error"]["code"] == "document_unreadable"


def test_a_nul_character_in_an_input_is_refused_before_a_run_exists(tmp_path: Path) -> None:
    """Issue #9, item 7: the same rule as the API's, for inputs from files (CLI, schedules)."""
    message = tmp_path / "message.json"
    message.write_text(json.dumps({"channel": "email", "body": "cancel\u0000 my order"}))
    code, out = run("run", "customer_service", "--input", str(message))
    assert code == 2 and "NUL" in out and "Traceback" not in out
    code, out = run("runs", "list", "--json")
    assert code == 0 and json.loads(out) == []


def test_unknown_flow_is_a_clear_error() -> None:
    code, out = run("run", "no_such_flow", "--input", str(INVOICES / "txt_01_nordisk_en.txt"))
    assert code == 2
    assert "no flow named 'no_such_flow'" in out and "invoice_processing" in out


def test_batch_writes_one_line_per_input(tmp_path: Path) -> None:
    out_file = tmp_path / "out.jsonl"
    code, out = run(
        "batch",
        "invoice_processing",
        str(INVOICES / "txt_01_nordisk_en.txt"),
        str(INVOICES / "err_bad_total_dubois_fr.pdf"),
        str(INVOICES / "bad" / "empty.pdf"),
        "--concurrency",
        "2",
        "--output",
        str(out_file),
    )
    assert code == 0, out
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [Path(x["input"]).name for x in lines] == [
        "txt_01_nordisk_en.txt",
        "err_bad_total_dubois_fr.pdf",
        "empty.pdf",
    ]
    assert [x["status"] for x in lines] == ["succeeded", "waiting", "failed"]
    assert set(lines[0]) == {"input", "run_id", "status", "output", "error"}
    waiting = lines[1]["output"]
    assert waiting["invoice_number"] and waiting["decision"] == "pending_review"
    assert "arithmetic_mismatch" in out and "document_empty" in out  # the summary table


def test_approve_resumes_waiting_run_to_posted() -> None:
    code, out = run(
        "run",
        "invoice_processing",
        "--input",
        str(INVOICES / "big_above_threshold_brightline_us.pdf"),
    )
    waiting = json.loads(out)
    assert waiting["status"] == "waiting"
    code, out = run("runs", "list", "--status", "waiting")
    assert waiting["run_id"] in out
    code, out = run("runs", "show", waiting["run_id"])
    assert code == 0 and "above the approval threshold" in out and "node_finished" in out
    code, out = run("approve", waiting["run_id"], "--comment", "ok", "--by", "dana")
    done = json.loads(out)
    assert code == 0 and done["status"] == "succeeded"
    assert done["output"]["decision"] == "approved" and done["output"]["bill_status"] == "posted"
    code, out = run("approve", waiting["run_id"])
    assert code == 2 and "not waiting" in out
    code, out = run("runs", "show", waiting["run_id"], "--json")
    trail = json.loads(out)
    assert trail["approvals"][0]["decided_by"] == "dana"
    assert any(e["kind"] == "resumed" for e in trail["events"])


def test_catalog_commands() -> None:
    code, out = run("flows", "list")
    assert code == 0 and "invoice_processing" in out
    code, out = run("flows", "graph", "invoice_processing")
    assert code == 0 and out.lstrip().startswith("---") and "request_review" in out
    code, out = run("connectors", "list")
    assert code == 0 and "create_bill" in out and "void_bill" in out
    code, out = run("connectors", "check")
    assert code == 0 and "ok accounting" in out


def test_demo_shows_every_outcome() -> None:
    code, out = run("demo")
    assert code == 0, out
    for outcome in ("auto_approved", "approved", "rejected", "pending_review", "failed"):
        assert outcome in out
    code, again = run("demo")  # idempotent: the same runs, nothing booked twice
    assert code == 0
    assert again.count("auto_approved") == out.count("auto_approved")


def test_a_reply_carries_the_waiting_conversation_on_and_says_so(tmp_path: Path) -> None:
    """Issue #14: `bpa run` takes a customer's answer like a first message; it continues the
    run that asked, and says so on stderr (stdout stays the run's JSON)."""
    messages = INVOICES.parent / "customer_service" / "messages"
    first = json.loads((messages / "return_confirmation_needed.json").read_text())
    code, out = run(
        "run", "customer_service", "--input", str(messages / "return_confirmation_needed.json")
    )
    asked = json.loads(out)
    assert code == 0 and asked["status"] == "waiting", out
    answer = {
        **first,
        "subject": f"Re: {first['subject']}",
        "body": "Yes, please go ahead.",
        "message_id": "<cli-answer-1@customers.example.com>",
        "in_reply_to": first["message_id"],
    }
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(answer))
    result = cli.invoke(app, ["run", "customer_service", "--input", str(path)])
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert done["run_id"] == asked["run_id"] and done["status"] == "succeeded"
    assert f"this message answers waiting run {asked['run_id']}" in result.stderr
    assert [a["action"] for a in done["output"]["actions"] if a["ok"]] == ["return_items"]
    code, out = run("runs", "list", "--json")
    assert [r["run_id"] for r in json.loads(out)] == [asked["run_id"]]
