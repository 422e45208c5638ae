"""The console in a real headless Chromium (Debian's, driven by Playwright), against the app
served by uvicorn with the installed flows and a worker: what a supervisor does with it.

Screenshots of the main pages at 1280 and 390 px go to build/screenshots/ (and a failing
test's last page to build/screenshots/failures/). Slow: one server and one browser for the
module, about a minute in all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_support import CHROMIUM, REPO, SCREENSHOTS, Served, browser_missing

from bpa.auth import Role

MISSING = browser_missing()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MISSING is not None, reason=f"browser tests skipped: {MISSING}"),
]

if MISSING is None:
    from playwright.sync_api import Browser, Page, expect, sync_playwright

INVOICES = REPO / "fixtures" / "invoices"
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        failures = SCREENSHOTS / "failures"
        failures.mkdir(parents=True, exist_ok=True)
        opened.screenshot(path=failures / f"{request.node.name}.png", full_page=True)
    context.close()


def sign_in(page: Page, served: Served, role: Role) -> None:
    page.goto(f"{served.base_url}/ui/signin")
    page.fill("#key", served.keys[role])
    page.click("button[type=submit]")
    expect(page.locator(".who .role")).to_have_text(role.value)


def shoot(page: Page, name: str) -> None:
    """Screenshots at each width; the page itself never scrolls sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(100)
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def start_invoice(served: Served, name: str) -> str:
    with (INVOICES / name).open("rb") as handle:
        started = served.api.post(
            "/flows/invoice_processing/runs",
            files={"file": (name, handle, "application/pdf")},
            headers=served.headers(Role.operator),
        )
    assert started.status_code == 202, started.text
    run_id: str = started.json()["id"]
    return run_id


def csrf_token(page: Page) -> str:
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return token


def test_approver_corrects_a_waiting_invoice_approves_it_and_sees_it_posted(
    page: Page, served: Served
) -> None:
    run_id = start_invoice(served, "err_bad_total_dubois_fr.pdf")
    assert served.settle(run_id)["status"] == "waiting"

    sign_in(page, served, Role.approver)
    page.click("nav >> text=Approvals")
    page.click(f'a[href="/ui/approvals/{run_id}"]')
    expect(page.locator("h1")).to_contain_text("Transports Dubois SAS: 1520.00 EUR")
    expect(page.locator(".field.has-issue .issue").first).to_contain_text("total says 1520.00")
    shoot(page, "review-invoice")

    page.fill("#field-total", "1500.00")
    page.click("button[value=correct]")
    # Corrected, validated again: the arithmetic is right now, but 1500 is above the
    # threshold (1000), so the invoice asks again.
    expect(page).to_have_url(re.compile(f"/ui/approvals/{run_id}$"))
    expect(page.locator("h1")).to_contain_text("1500.00 EUR")
    expect(page.locator("#field-total")).to_have_value("1500.00")
    expect(page.locator("ul.reasons")).not_to_contain_text("total says")

    page.fill("#comment", "total checked against the delivery note")
    page.click("button[value=approve]")
    expect(page).to_have_url(re.compile(f"/ui/runs/{run_id}$"))
    expect(page.locator(".status-card .status")).to_have_text("succeeded")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("approver-ann chose correct (total=1500.00)")
    expect(timeline).to_contain_text("approver-ann chose approve")
    expect(timeline).to_contain_text("accounting.post_bill (changes data)")
    expect(page.locator('.flow-graph [data-node="post_bill"]')).to_have_class(re.compile("visited"))
    shoot(page, "run-posted")
    output = served.settle(run_id)["output"]
    assert output["total"] == 1500.0 and output["bill_status"] == "posted"

    page.fill("form.rollback input[name=reason]", "paid twice: the supplier sent it again")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form.rollback button")
    expect(page.locator(".status-card .status")).to_have_text("rolled_back")
    expect(timeline).to_contain_text("accounting.void_bill")


def test_viewer_sees_no_approve_button_and_posting_the_form_is_refused(
    page: Page, served: Served
) -> None:
    run_id = start_invoice(served, "big_above_threshold_brightline_us.pdf")
    assert served.settle(run_id)["status"] == "waiting"

    sign_in(page, served, Role.viewer)
    page.goto(f"{served.base_url}/ui/approvals/{run_id}")
    expect(page.locator("h1")).to_contain_text("Brightline Cloud Inc.")
    expect(page.locator("button[value=approve]")).to_have_count(0)
    expect(page.locator("#field-total")).to_have_attribute("readonly", "")
    expect(page.locator(".notice")).to_contain_text("needs the approver role")

    answer = page.request.post(
        f"{served.base_url}/ui/runs/{run_id}/decide",
        form={"csrf_token": csrf_token(page), "action": "approve"},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "needs the approver role" in answer.text()
    assert served.settle(run_id)["status"] == "waiting"


def test_a_forged_form_without_the_csrf_token_is_refused(page: Page, served: Served) -> None:
    run_id = start_invoice(served, "err_unknown_vendor_bluefin_ee.pdf")
    assert served.settle(run_id)["status"] == "waiting"

    sign_in(page, served, Role.admin)
    page.goto(f"{served.base_url}/ui/runs/{run_id}")
    # A form as another page would forge it: same fields, no token.
    page.evaluate(
        """(action) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            const field = document.createElement("input");
            field.name = "reason";
            field.value = "forged";
            form.appendChild(field);
            document.body.appendChild(form);
            form.submit();
        }""",
        f"/ui/runs/{run_id}/cancel",
    )
    expect(page.locator("h1")).to_have_text("Form refused")
    expect(page.locator(".error")).to_contain_text("security token")
    assert served.settle(run_id)["status"] == "waiting"


def test_admin_creates_a_schedule_and_sees_its_next_fire_time(page: Page, served: Served) -> None:
    sign_in(page, served, Role.admin)
    page.click("nav >> text=Schedules")
    page.fill("input[name=name]", "weekday-sales-review")
    page.select_option("select[name=flow]", "sales_operations")
    page.fill("input[name=cron]", "30 6 * * 1-5")
    expect(page.locator("#cron-preview")).to_contain_text("06:30")  # htmx preview
    expect(page.locator("#cron-preview")).to_contain_text("Monday through Friday")
    page.fill("input[name=timezone]", "Europe/Berlin")
    page.fill("textarea[name=input]", json.dumps({"as_of": "2025-06-30"}))
    page.click("text=Create schedule")

    expect(page.locator("h1")).to_contain_text("weekday-sales-review")
    schedules = served.api.get("/schedules", headers=served.headers(Role.viewer)).json()
    [created] = [s for s in schedules if s["name"] == "weekday-sales-review"]
    fire = created["next_fire_at"].replace("T", " ")[:19]
    expect(page.locator("dd.next-fire")).to_contain_text(fire)
    page.click("text=Schedules >> nth=0")
    row = page.locator("tr", has_text="weekday-sales-review")
    expect(row.locator(".next-fire")).to_contain_text(fire)
    shoot(page, "schedules")

    page.goto(f"{served.base_url}/ui/schedules")
    page.fill("input[name=cron]", "61 * * * *")
    expect(page.locator("#cron-preview")).to_contain_text("minute field '61' is out of range")


def test_operator_uploads_three_invoices_as_a_batch_and_sees_them_finish(
    page: Page, served: Served
) -> None:
    names = ["inv_04_lefevre_fr_classic.pdf", "inv_07_ibericos_es_logo.pdf"]
    names.append("inv_09_northwind_gb_classic.pdf")
    sign_in(page, served, Role.operator)
    page.click("nav >> text=Batches")
    page.set_input_files("input[name=files]", [str(INVOICES / name) for name in names])
    expect(page.locator("[data-chosen]")).to_contain_text("3 chosen")
    page.click("text=Start one run per document")

    expect(page).to_have_url(re.compile(r"/ui/batches/[^/]+$"))
    expect(page.locator(".settled")).to_contain_text("3 of 3 settled · done", timeout=60_000)
    expect(page.locator("table.runs .status-succeeded")).to_have_count(3)
    shoot(page, "batch")

    batch_id = page.url.rsplit("/", 1)[1]
    results = page.request.get(f"{served.base_url}/ui/batches/{batch_id}/results.jsonl")
    lines = [json.loads(line) for line in results.text().splitlines()]
    assert sorted(line["input"] for line in lines) == sorted(names)
    assert {line["status"] for line in lines} == {"succeeded"}
    assert {line["output"]["decision"] for line in lines} == {"auto_approved"}


def test_pages_read_without_javascript(browser: Browser, served: Served) -> None:
    run_id = start_invoice(served, "inv_01_mueller_de_classic.pdf")
    served.settle(run_id)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, served, Role.viewer)
        page.goto(f"{served.base_url}/ui/runs?q=RE-2026-0142")
        expect(page.locator("table.runs")).to_contain_text("inv_01_mueller_de_classic.pdf")
        page.click(f'a[href="/ui/runs/{run_id}"]')
        expect(page.locator(".timeline")).to_contain_text("accounting.post_bill")
        expect(page.locator(".flow-graph")).to_be_visible()
    finally:
        context.close()


def test_docs_render_with_no_network(page: Page, served: Served) -> None:
    elsewhere: list[str] = []

    def only_this_server(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        if request.url.startswith(served.base_url):
            route.continue_()  # type: ignore[attr-defined]
        else:
            elsewhere.append(request.url)
            route.abort()  # type: ignore[attr-defined]

    page.route("**/*", only_this_server)
    page.goto(f"{served.base_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("BPA Suite")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    assert elsewhere == []
    shoot(page, "api-docs")


def test_screenshots_of_the_main_pages(page: Page, served: Served) -> None:
    report = served.api.post(
        "/flows/sales_operations/runs",
        json={"input": {"as_of": "2025-06-30"}},
        headers=served.headers(Role.operator),
    ).json()["id"]
    waiting = start_invoice(served, "err_po_variance_mueller_de.pdf")
    assert served.settle(report, timeout=120)["status"] == "succeeded"
    served.settle(waiting)

    sign_in(page, served, Role.admin)
    for name, path in (
        ("overview", "/ui"),
        ("runs", "/ui/runs"),
        ("approvals", "/ui/approvals"),
        ("run-waiting", f"/ui/runs/{waiting}"),
        ("batches", "/ui/batches"),
        ("reports", "/ui/reports"),
    ):
        page.goto(f"{served.base_url}{path}")
        expect(page.locator("h1")).to_be_visible()
        shoot(page, name)
    page.goto(f"{served.base_url}/ui/reports")
    page.click(f'a[href="/ui/reports/{report}"]')
    frame = page.frame_locator("iframe.report")
    expect(frame.locator("h1")).to_be_visible()
    shoot(page, "report")
    assert Path(SCREENSHOTS / "overview-390.png").stat().st_size > 0
