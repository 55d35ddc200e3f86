"""The web console in a real Chromium (Debian's, launched by its path; Playwright drives it),
against a real server on a loopback port over SQLite: a supplier signs in, accepts a
certificate through the form and signs out; another organization's certificate is a 404; a
form sent without its CSRF token is refused; every page renders with no console error and
no failed request, and axe-core (from the npm registry, injected) finds no serious or
critical accessibility violation. Screenshots of every page are kept in
``test-artifacts/console/``.

Without Chromium the tests are skipped with the reason; under CI they fail instead."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from capillary.domain.access import UserRole
from tests.api.conftest import _world
from tests.api.test_api_authorization import _seed

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run"]  # fmt: skip
AXE = "axe-core@4.14.1"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
CACHE = ROOT / ".cache"
PASSWORD = "correct horse battery staple"
REQUIRED = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (CI requires the browser tests)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def axe() -> str:
    """axe-core's script, fetched once from the npm registry with npm into ``.cache/``."""
    target = CACHE / f"{AXE.replace('@', '-')}.min.js"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("no npm to fetch axe-core from the npm registry")
        CACHE.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            done = subprocess.run([str(npm), "pack", AXE, "--silent"], cwd=folder,
                                  capture_output=True, text=True, timeout=300)  # fmt: skip
            if done.returncode != 0:
                _unavailable(f"npm pack {AXE} failed: {done.stderr.strip()[:200]}")
            (packed,) = Path(folder).glob("axe-core-*.tgz")
            with tarfile.open(packed) as tar:
                member = tar.extractfile("package/axe.min.js")
                assert member is not None
                target.write_bytes(member.read())
    return target.read_text()


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for base, ids, _ in _site(tmp_path, sqlite_template):
        yield base, ids


@pytest.fixture
def site_with_services(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, Any, Any]]:
    yield from _site(tmp_path, sqlite_template)


def _site(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, dict[str, Any], Any]]:
    path = tmp_path / "console.db"
    shutil.copy(sqlite_template, path)
    for w in _world(f"sqlite:///{path}"):
        ids = _seed(w)
        ops = w.services.parties.principal("ops", "setup", user_role=UserRole.ADMIN)
        for org, login, role in (
            ("tier1", "wang.fang", "staff"),
            ("tier1", "zhou.yu", "read_only"),
            ("tier2", "li.na", "staff"),
            ("core", "zhao.lei", "staff"),
            ("bank", "qian.bo", "staff"),
            ("ops", "he.ping", "admin"),
            ("audit", "sun.li", "read_only"),
        ):
            w.services.users.add_user(
                principal=ops,
                org=org,
                login=login,
                name=login.title(),
                role=role,
                password=PASSWORD,
                key=f"u-{login}",
            )
        yield w.base, ids, w


class Tab:
    """A page that records console errors and failed requests, and screenshots each view."""

    def __init__(self, browser: Any, base: str, name: str, axe: str) -> None:
        # The pages' content security policy forbids inline scripts: the test's axe is let in.
        self.context = browser.new_context(base_url=base, bypass_csp=True)
        self.page = self.context.new_page()
        self.name, self.axe, self.errors = name, axe, []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def look(self, view: str, *, expect_status: int | None = None) -> None:
        """The page as it is now: screenshot, no errors so far, no serious axe violation."""
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{view}.png"), full_page=True)
        self.page.add_script_tag(content=self.axe)
        found = self.page.evaluate(
            "async () => (await axe.run(document)).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
        )
        assert found == [], f"{view}: {found}"
        real = [e for e in self.errors if not (expect_status and str(expect_status) in e)]
        assert real == [], f"{view}: {real}"
        self.errors.clear()

    def sign_in(self, login: str) -> None:
        self.page.goto("/console/holdings")
        assert self.page.url.endswith("/console/sign-in?back_to=/console/holdings")
        self.look("sign-in")
        self.page.get_by_label("Login name").fill(login)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url("**/console/holdings")

    def close(self) -> None:
        self.context.close()


def test_a_supplier_accepts_a_certificate_through_the_forms(
    chromium: Any, axe: str, site: tuple[str, dict[str, Any]]
) -> None:
    base, ids = site
    tab = Tab(chromium, base, "supplier", axe)
    try:
        tab.sign_in("wang.fang")
        tab.look("holdings")
        assert tab.page.get_by_role("heading", name="Waiting for your signature").is_visible()
        tab.page.get_by_role("button", name=f"Accept {ids['pending']}").click()
        tab.page.wait_for_url(f"**/console/certificates/{ids['pending']}")
        assert tab.page.get_by_text("active").first.is_visible()
        tab.look("certificate")
        tab.page.get_by_role("link", name="Users").click()
        tab.look("users")
        tab.page.get_by_role("link", name="Invoices").click()
        tab.look("invoices")
        tab.page.get_by_role("link", name="Market").click()
        tab.page.wait_for_url("**/console/market")
        tab.look("market")
        tab.page.get_by_role("link", name="Overview").click()
        tab.look("overview")
        tab.page.get_by_label("Language").select_option("zh")
        tab.page.get_by_role("button", name="Change").click()
        tab.page.wait_for_load_state()
        assert tab.page.get_by_role("heading", name="概览").is_visible()
        tab.look("overview-zh")
        tab.page.get_by_role("button", name="退出").click()
        tab.page.wait_for_url("**/console/sign-in")
    finally:
        tab.close()


def test_another_organizations_certificate_is_not_found_and_a_tokenless_form_is_refused(
    chromium: Any, axe: str, site: tuple[str, dict[str, Any]]
) -> None:
    base, ids = site
    tab = Tab(chromium, base, "other", axe)
    try:
        tab.sign_in("li.na")  # tier2
        answer = tab.page.goto(f"/console/certificates/{ids['pending']}")
        assert answer is not None
        assert answer.status == 404
        assert tab.page.get_by_text("There is nothing here for you to see.").is_visible()
        tab.look("not-found", expect_status=404)
        tab.page.goto("/console/holdings")
        tab.page.evaluate("document.querySelector('form.who input[name=csrf]').remove()")
        with tab.page.expect_navigation() as sent:
            tab.page.get_by_role("button", name="Sign out").click()
        assert sent.value is not None
        assert sent.value.status == 403
        assert tab.page.get_by_text("did not come from this console").is_visible()
        tab.look("csrf-refused", expect_status=403)
        tab.page.goto("/console/holdings")  # still signed in: the forged form did nothing
        assert tab.page.url.endswith("/console/holdings")
    finally:
        tab.close()


def test_a_supplier_pays_its_supplier_and_gets_cash_at_the_live_best_price(
    chromium: Any, axe: str, site_with_services: tuple[str, dict[str, Any], Any]
) -> None:
    base, ids, world = site_with_services
    tab = Tab(chromium, base, "cash", axe)
    p = world.services
    try:
        tab.sign_in("wang.fang")
        tab.page.goto(f"/console/fragments/{ids['change']}/pay")
        tab.look("pay")
        tab.page.get_by_label("Or the supplier, under a contract").select_option("tier2")
        tab.page.get_by_label("The contract's reference").fill("FRAME-2026-07")
        tab.page.get_by_label("Amount (CNY)").fill("500.00")
        tab.page.get_by_role("button", name="Pay").click()
        tab.page.wait_for_url("**/console/holdings")
        paid = [f for f, _ in p.certificates.held("tier2", principal=world.principal("tier2"))
                if f.amount == 500_00]  # fmt: skip
        assert len(paid) == 1
        (change,) = [f for f, c in p.certificates.held("tier1", principal=world.principal("tier1"))
                     if c.number == ids["cert"]]  # fmt: skip
        assert change.amount == 2_500_00
        tab.page.goto(f"/console/fragments/{change.id}/cash")
        tab.look("cash-out")
        tab.page.get_by_label("The highest annual rate you accept").fill("6%")
        tab.page.get_by_role("button", name="Ask the market").click()
        tab.page.wait_for_url("**/console/requests/*")
        assert tab.page.get_by_text("No funder has quoted yet").is_visible()
        tab.look("request-waiting")
        request_id = int(tab.page.url.rsplit("/", 1)[1])
        p.market.quote_request(request_id, principal=world.principal("bank"),
                               rate=Decimal("0.045"), amount=2_500_00,
                               valid_until=date(2026, 12, 31), key="bank-quotes")  # fmt: skip
        take = tab.page.get_by_role("button", name="Take the best")
        take.wait_for(timeout=15_000)  # the page polls the market (htmx) and shows the quote
        assert tab.page.get_by_text("4.50%").is_visible()
        tab.look("request-quoted")
        take.click()
        tab.page.get_by_text("Financed: the cash is in your account.").wait_for()
        tab.look("request-filled")
        assert p.market.financing_request(request_id, principal=world.principal("tier1")
                                          ).open_amount == 0  # fmt: skip
    finally:
        tab.close()


def test_a_core_issues_from_its_payables_page(
    chromium: Any, axe: str, site: tuple[str, dict[str, Any]]
) -> None:
    base, ids = site
    tab = Tab(chromium, base, "core", axe)
    try:
        tab.sign_in("zhao.lei")
        tab.page.get_by_role("link", name="Payables").click()
        tab.page.wait_for_url("**/console/payables")
        tab.look("payables")
        tab.page.get_by_role(
            "button", name=f"Issue a certificate for payable {ids['payable']}"
        ).click()
        tab.page.wait_for_url("**/console/certificates/*")
        assert tab.page.get_by_text("pending").first.is_visible()
        tab.look("issued")
        tab.page.get_by_role("link", name="Early payment").click()
        tab.page.wait_for_url("**/console/early-payment")
        tab.look("early-payment")
        tab.page.get_by_label("Cash offered").fill("30000.00")
        tab.page.get_by_label("The lowest annual rate you accept").fill("3.8%")
        tab.page.get_by_role("button", name="Offer", exact=True).click()
        tab.page.wait_for_url("**/console/early-payment")
        assert tab.page.get_by_role("cell", name="3.80%").first.is_visible()
        tab.look("early-payment-offered")
        tab.page.get_by_role("link", name="Reach").click()
        tab.page.wait_for_url("**/console/reach")
        tab.look("reach")
        tab.page.goto(f"/console/certificates/{ids['cert']}")
        tab.page.get_by_role("link", name="ledger postings of fragment").first.click()
        tab.page.wait_for_url("**/steps/*")
        assert tab.page.get_by_role("heading", name="Ledger postings").is_visible()
        tab.look("step")
    finally:
        tab.close()


def test_a_funder_quotes_on_a_request_from_its_funding_page(
    chromium: Any, axe: str, site: tuple[str, dict[str, Any]]
) -> None:
    base, ids = site
    tab = Tab(chromium, base, "funder", axe)
    try:
        tab.sign_in("qian.bo")
        tab.page.get_by_role("link", name="Funding").click()
        tab.page.wait_for_url("**/console/funding")
        tab.look("funding")
        tab.page.get_by_label(f"Annual rate for request {ids['market']}").fill("4.2%")
        tab.page.get_by_role("button", name=f"Quote on request {ids['market']}").click()
        tab.page.wait_for_url("**/console/funding")
        assert tab.page.get_by_role("cell", name="4.20%").first.is_visible()  # its open quote
        tab.look("quoted")
        tab.page.get_by_label("Obligor grade").fill("A")
        tab.page.get_by_label("Spread, days to maturity 0-30").fill("1.1%")
        tab.page.get_by_role("button", name="Set the rule").click()
        tab.page.wait_for_url("**/console/funding")
        assert tab.page.get_by_text("A 0-30: 1.10%").is_visible()
        tab.look("rule-set")
    finally:
        tab.close()


def test_the_operator_verifies_the_books_in_the_browser(
    chromium: Any, axe: str, site: tuple[str, dict[str, Any]]
) -> None:
    base, _ = site
    tab = Tab(chromium, base, "operator", axe)
    try:
        tab.sign_in("he.ping")
        tab.page.get_by_role("link", name="The platform").click()
        tab.page.wait_for_url("**/console/platform")
        tab.look("platform")
        tab.page.get_by_role("button", name="Verify the books now").click()
        tab.page.get_by_text("Verified in seconds:").wait_for()
        tab.look("verified")
        tab.page.get_by_role("link", name="The audit trail").click()
        tab.page.wait_for_url("**/console/platform/audit")
        tab.look("audit-trail")
        tab.page.get_by_role("link", name="Reach").click()
        tab.page.wait_for_url("**/console/reach")
        tab.look("reach")
        tab.page.get_by_role("link", name="Early payment").click()
        tab.page.wait_for_url("**/console/early-payment")
        tab.look("early-payment")
    finally:
        tab.close()


def test_the_console_works_from_the_keyboard_alone(
    chromium: Any, axe: str, site: tuple[str, dict[str, Any]]
) -> None:
    """Sign in, skip to the content, move through the navigation and accept a certificate
    with Tab and Enter only; every control reached shows where the focus is."""
    base, ids = site
    tab = Tab(chromium, base, "keyboard", axe)
    keys = tab.page.keyboard
    try:
        tab.page.goto("/console/sign-in")
        keys.press("Tab")  # the skip link comes first
        assert tab.page.evaluate("document.activeElement.className") == "skip"
        for _ in range(6):  # to the login field, past the brand link and the language form
            if tab.page.evaluate("document.activeElement.name") == "login":
                break
            keys.press("Tab")
        assert tab.page.evaluate("document.activeElement.name") == "login"
        keys.type("wang.fang")
        keys.press("Tab")
        keys.type(PASSWORD)
        keys.press("Enter")
        tab.page.wait_for_url("**/console/")
        focused = []
        for _ in range(40):
            keys.press("Tab")
            name = tab.page.evaluate(
                "(() => { const e = document.activeElement;"
                " return e.getAttribute('aria-label') || e.innerText || e.name || ''; })()"
            )
            outline = tab.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            focused.append((name.strip(), outline))
            if name.strip() == "Certificates held":
                keys.press("Enter")
                break
        tab.page.wait_for_url("**/console/holdings")
        assert all(style != "none" for _, style in focused), focused
        for _ in range(60):
            keys.press("Tab")
            if tab.page.evaluate("document.activeElement.getAttribute('aria-label')") == (
                f"Accept {ids['pending']}"
            ):
                keys.press("Enter")
                break
        tab.page.wait_for_url(f"**/console/certificates/{ids['pending']}")
        assert tab.page.get_by_text("active").first.is_visible()
        tab.look("keyboard-accepted")
    finally:
        tab.close()


def test_the_auditor_and_a_read_only_user_see_and_change_nothing(
    chromium: Any, axe: str, site: tuple[str, dict[str, Any]]
) -> None:
    base, _ = site
    tab = Tab(chromium, base, "auditor", axe)
    try:
        tab.sign_in("sun.li")
        tab.page.get_by_role("link", name="The platform").click()
        tab.page.wait_for_url("**/console/platform")
        assert tab.page.get_by_role("button", name="Run today's settlement").count() == 0
        assert tab.page.get_by_role("button", name="Set the limit").count() == 0
        tab.look("platform")
        tab.page.get_by_role("link", name="The audit trail").click()
        tab.page.wait_for_url("**/console/platform/audit")
        tab.look("audit-trail")
        tab.page.get_by_role("link", name="Reach").click()
        tab.look("reach")
    finally:
        tab.close()
    reader = Tab(chromium, base, "read-only", axe)
    try:
        reader.sign_in("zhou.yu")  # tier1, read-only
        reader.look("holdings")
        reader.page.get_by_role("link", name="Users").click()
        assert reader.page.get_by_role("button", name="Add", exact=True).count() == 0
        reader.look("users")
    finally:
        reader.close()
