"""`bpa vendors ...`: CSV import of the vendor master, and the invoice flow's memory of
corrections shown and forgotten."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bpa.cli import app

cli = CliRunner()

VENDORS = """name,tax_id,iban,address,country,currency,payment_terms_days,aliases
Bluefin Marketing OÜ,EE101234568,EE952200002210991457,"Tartu mnt 2, Tallinn",EE,EUR,30,Bluefin
Broken Tax Id GmbH,DE123,,,DE,EUR,30,
Müller Bürobedarf GmbH,DE812345673,,,DE,EUR,30,
"""
ORDERS = """number,vendor,currency,order_date,line_no,description,quantity,unit_price,sku
PO-9001,EE101234568,EUR,2026-03-01,1,LinkedIn campaign,1,1800,
PO-9001,EE101234568,EUR,2026-03-01,2,Creative design,1,640,
PO-9002,Nobody Ltd,EUR,2026-03-01,1,Something,1,1,
"""
INVOICE = (
    "Northwind Traders Ltd\n1 Harbour Road, Bristol BS1 5AA\nVAT GB 234 5678 05\n"
    "Invoice\nDoc ref: {number}\nDate: {date}\n"
    "Widgets 10 x 20.00 200.00\nNet 200.00\nVAT 20% 40.00\nTotal GBP 240.00\n"
)


def run(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def run_json(*args: str) -> Any:
    code, out = run(*args)
    assert code in (0, 1), out
    return json.loads(out)


def test_import_reports_bad_rows_by_line_and_imports_the_rest_once(tmp_path: Path) -> None:
    vendors, orders = tmp_path / "vendors.csv", tmp_path / "orders.csv"
    vendors.write_text(VENDORS, encoding="utf-8")
    orders.write_text(ORDERS, encoding="utf-8")
    code, out = run("vendors", "import", str(vendors), "--purchase-orders", str(orders), "--json")
    assert code == 1, out  # bad rows: exit 1, the good ones imported
    report = json.loads(out)
    assert report["created"] == {"vendors": 1, "purchase_orders": 1}
    assert report["existing"] == {"vendors": 1, "purchase_orders": 0}
    assert [(e["file"], e["line"]) for e in report["errors"]] == [
        ("vendors", 3),
        ("purchase_orders", 4),
    ]
    assert "checksum" in report["errors"][0]["error"]
    assert "Traceback" not in out

    again = run_json("vendors", "import", str(vendors), "-p", str(orders), "--json")
    assert again["created"] == {"vendors": 0, "purchase_orders": 0}
    assert again["existing"] == {"vendors": 2, "purchase_orders": 1}

    shown = run_json("runs", "show", report["run_id"], "--json")
    assert shown["flow"] == "vendor_import" and shown["status"] == "succeeded"


def test_import_refuses_an_unreadable_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "vendors.csv"
    bad.write_text("company,vat\nAcme,1\n", encoding="utf-8")
    code, out = run("vendors", "import", str(bad))
    assert code == 2 and "lacks column(s) name" in out and "Traceback" not in out
    code, out = run("vendors", "import")
    assert code == 2 and "give a vendors CSV" in out


def _run_invoice(tmp_path: Path, number: str) -> dict[str, Any]:
    path = tmp_path / f"{number}.txt"
    path.write_text(INVOICE.format(number=number, date="2026-03-02"), encoding="utf-8")
    _code, out = run("run", "invoice_processing", "--input", str(path))
    result: dict[str, Any] = json.loads(out)
    return result


def test_a_correction_is_remembered_shown_and_forgotten(tmp_path: Path) -> None:
    first = _run_invoice(tmp_path, "AT-55120")
    assert first["status"] == "waiting" and first["output"]["invoice_number"] is None
    code, out = run("approve", first["run_id"], "--correct", "invoice_number=AT-55120")
    assert code == 0, out

    code, out = run("vendors", "memory", "V-1009")
    assert code == 0 and "invoice_number" in out and "doc ref" in out
    assert not re.search(r"AT-55120", out)  # where the value stands, never the value

    second = _run_invoice(tmp_path, "AT-55187")
    assert second["output"]["invoice_number"] == "AT-55187"
    assert second["output"]["field_sources"] == {"invoice_number": "vendor_memory"}

    code, out = run("vendors", "forget", "V-1009", "--field", "invoice_number")
    assert code == 0 and "invoice_number" in out
    recorded = re.search(r"recorded as run (\S+)\)", out)
    assert recorded is not None, out
    shown = run_json("runs", "show", recorded.group(1), "--json")
    assert shown["flow"] == "vendor_memory_forget" and shown["status"] == "succeeded"
    assert shown["input"] == {"vendor_id": "V-1009", "field": "invoice_number", "by": None}
    third = _run_invoice(tmp_path, "AT-55201")
    assert third["output"]["invoice_number"] is None
    code, out = run("vendors", "forget", "V-1009", "--field", "invoice_number")
    assert code == 2 and "nothing is remembered" in out
