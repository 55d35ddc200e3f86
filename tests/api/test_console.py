"""The web console (issue 13) over HTTP against a real server on a loopback port, on SQLite
and PostgreSQL: signing in (throttled), the session cookie's flags, CSRF on every form, a
supplier's holdings and accepting a certificate, another organization's certificate a 404,
read-only users refused, signing out, and both languages.

The cookies are Secure, which a cookie jar keeps from plain http://; the tests carry them
by hand, as a browser does for a loopback address."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from capillary.domain.access import UserRole
from capillary.domain.certificates import CertificateStatus
from capillary.domain.errors import FragmentNotFound
from capillary.domain.users import FAILURES_ALLOWED
from capillary.entrypoints.web import errors as console_errors
from tests.api.conftest import World, _world
from tests.api.test_api_authorization import _seed

PASSWORD = "correct horse battery staple"
WEB = Path(__file__).resolve().parents[2] / "capillary" / "entrypoints" / "web"


@dataclass
class Site:
    world: World
    ids: dict[str, object]
    browsers: list[Browser]

    def browser(self) -> Browser:
        made = Browser(self.world.base)
        self.browsers.append(made)
        return made


@pytest.fixture
def site(store_url: str) -> Iterator[Site]:
    for w in _world(store_url):
        ids = _seed(w)
        ops = w.services.parties.principal("ops", "setup", user_role=UserRole.ADMIN)
        for org, login, role in (
            ("tier1", "wang.fang", "staff"),
            ("tier1", "zhou.yu", "read_only"),
            ("tier2", "li.na", "admin"),
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
        site = Site(w, ids, [])
        yield site
        for b in site.browsers:
            b.http.close()


class Browser:
    """Cookies by name, sent back to /console; forms' CSRF tokens read from the pages."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            self.set_cookie_headers.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0].strip('"')
            if "Max-Age=0" in header or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def get(self, path: str, **headers: str) -> httpx.Response:
        return self._keep(self.http.get(path, headers={**self._cookie_header(), **headers}))

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self._keep(self.http.post(path, data=data, headers=self._cookie_header()))

    def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        form = self.get("/console/sign-in")
        return self.post("/console/sign-in", {"login": login, "password": password,
                                              "csrf": csrf_of(form.text),
                                              "back_to": "/console/holdings"})  # fmt: skip


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def form_of(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form on ``page`` that posts to ``action``: its CSRF token
    and the submission key drawn into it."""
    found = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', page, re.S)
    assert found is not None, f"no form posts to {action}"
    return dict(re.findall(r'<input type="hidden" name="(csrf|form)" value="([^"]+)">',
                           found.group(0)))  # fmt: skip


def sent(page: str, **fields: str) -> dict[str, str]:
    """A form's fields with the page's CSRF token and a submission key of its own."""
    return {"csrf": csrf_of(page), "form": uuid.uuid4().hex, **fields}


def test_a_supplier_signs_in_sees_its_holdings_and_accepts_a_certificate(site: Site) -> None:
    b = site.browser()
    first = b.get("/console/holdings")
    assert first.status_code == 303
    assert first.headers["location"] == "/console/sign-in?back_to=/console/holdings"
    wrong = b.sign_in("wang.fang", "not the password at all")
    assert wrong.status_code == 401
    assert "The login name or the password is wrong." in wrong.text
    signed = b.sign_in("wang.fang")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/console/holdings"
    session = next(h for h in b.set_cookie_headers if h.startswith("capillary_session="))
    for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/console"):
        assert flag in session
    page = b.get("/console/holdings")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    pending = str(site.ids["pending"])
    assert pending in page.text  # waiting for tier1's signature
    assert "CN¥" in page.text  # amounts with their currency
    assert "<svg" in page.text  # the maturity ladder
    refused = b.post(f"/console/certificates/{pending}/accept", {})
    assert refused.status_code == 403
    assert "did not come from this console" in refused.text
    assert "Traceback" not in refused.text
    cert = site.world.services.certificates.certificate(
        pending, principal=site.world.principal("tier1")
    )
    assert cert.status is CertificateStatus.PENDING  # the refused form changed nothing
    done = b.post(f"/console/certificates/{pending}/accept",
                  form_of(page.text, f"/console/certificates/{pending}/accept"))  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/certificates/{pending}"
    cert = site.world.services.certificates.certificate(
        pending, principal=site.world.principal("tier1")
    )
    assert cert.status is CertificateStatus.ACTIVE
    shown = b.get(f"/console/certificates/{pending}")
    assert shown.status_code == 200
    assert "tier1" in shown.text
    out = b.post("/console/sign-out", {"csrf": csrf_of(shown.text)})
    assert out.status_code == 303
    assert "capillary_session" not in b.cookies
    assert b.get("/console/holdings").status_code == 303


def test_another_organizations_certificate_is_a_404_and_read_only_users_change_nothing(
    site: Site,
) -> None:
    pending = str(site.ids["pending"])
    other = site.browser()
    assert other.sign_in("li.na").status_code == 303  # tier2's admin
    foreign = other.get(f"/console/certificates/{pending}")
    missing = other.get("/console/certificates/CP20990101999999")
    assert foreign.status_code == missing.status_code == 404
    assert "There is nothing here for you to see." in foreign.text
    assert pending not in foreign.text.replace(f"/console/certificates/{pending}", "")
    reader = site.browser()
    assert reader.sign_in("zhou.yu").status_code == 303  # tier1, read-only
    page = reader.get("/console/holdings")
    denied = reader.post(f"/console/certificates/{pending}/accept", sent(page.text))
    assert denied.status_code == 403
    assert "read-only" in denied.text


def test_sign_ins_are_throttled_and_the_form_needs_its_token(site: Site) -> None:
    b = site.browser()
    forged = b.post("/console/sign-in", {"login": "wang.fang", "password": PASSWORD})
    assert forged.status_code == 403  # no token: a cross-site sign-in is refused
    for _ in range(FAILURES_ALLOWED):
        assert b.sign_in("wang.fang", "a guess that is wrong").status_code == 401
    throttled = b.sign_in("wang.fang")
    assert throttled.status_code == 429
    assert "Too many failed sign-ins" in throttled.text


def test_pages_speak_chinese_by_the_browser_or_the_users_choice(site: Site) -> None:
    b = site.browser()
    assert "登录 Capillary" in b.get("/console/sign-in", **{"Accept-Language": "zh-CN"}).text
    b.sign_in("wang.fang")
    english = b.get("/console/holdings")
    assert "<h1>Certificates held</h1>" in english.text
    assert 'lang="en"' in english.text
    chosen = b.post("/console/language", {"language": "zh", "csrf": csrf_of(english.text)})
    assert chosen.status_code == 303
    chinese = b.get("/console/holdings")
    assert "<h1>持有的凭证</h1>" in chinese.text
    assert 'lang="zh-CN"' in chinese.text
    assert re.search(r"¥[\d,]+\.\d\d", chinese.text)


def test_every_message_of_the_console_has_a_chinese_translation() -> None:
    found = {item[2] for item in extract_from_dir(
        str(WEB), method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        keywords={"_": None, "gettext": None})}  # fmt: skip
    assert "Sign in to Capillary" in found  # the templates were read
    found |= set(console_errors.TITLES.values())
    with (WEB / "locale" / "zh" / "LC_MESSAGES" / "console.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string}
    assert found - translated == set()


def test_an_admin_manages_its_users_in_the_console_and_nobody_elses(site: Site) -> None:
    admin = site.browser()
    admin.sign_in("li.na")  # tier2's admin
    page = admin.get("/console/users")
    assert page.status_code == 200
    assert "li.na" in page.text
    assert "wang.fang" not in page.text  # tier1's users are not tier2's to see
    added = admin.post("/console/users", {**form_of(page.text, "/console/users"),
                                          "login": "zhang.wei", "name": "Zhang Wei",
                                          "role": "staff", "password": PASSWORD})  # fmt: skip
    assert added.status_code == 303
    newcomer = site.browser()
    assert newcomer.sign_in("zhang.wei").status_code == 303
    listed = newcomer.get("/console/users")
    assert listed.status_code == 200  # staff sees the list
    refused = newcomer.post("/console/users/li.na", sent(listed.text, action="disable"))
    assert refused.status_code == 403  # and changes nothing
    foreign = admin.post("/console/users/wang.fang", sent(page.text, action="disable"))
    assert foreign.status_code == 404
    assert (
        admin.post(
            "/console/users/zhang.wei", sent(page.text, action="role", role="read_only")
        ).status_code
        == 303
    )
    assert admin.post("/console/users/zhang.wei",
                      sent(page.text, action="disable")).status_code == 303  # fmt: skip
    assert newcomer.get("/console/users").status_code == 303  # its session ended
    gone = site.world.services.users.users(principal=site.world.principal("tier2"))
    assert {(u.login, u.role.value, u.active) for u in gone} >= {("zhang.wei", "read_only",
                                                                  False)}  # fmt: skip


def test_a_core_issues_a_certificate_against_its_payable(site: Site) -> None:
    core = site.browser()
    core.sign_in("zhao.lei")
    page = core.get("/console/payables")
    assert page.status_code == 200
    payable = site.ids["payable"]
    assert f'action="/console/payables/{payable}/issue"' in page.text
    assert "CN¥2,000.00" in page.text  # what is still open of it
    assert core.post(f"/console/payables/{payable}/issue", {}).status_code == 403
    supplier = site.browser()
    supplier.sign_in("wang.fang")
    mine = supplier.get("/console/payables")
    stolen = supplier.post(f"/console/payables/{payable}/issue", sent(mine.text))
    assert stolen.status_code == 403  # a supplier issues no certificates
    form = form_of(page.text, f"/console/payables/{payable}/issue")
    issued = core.post(f"/console/payables/{payable}/issue", form)
    assert issued.status_code == 303
    number = issued.headers["location"].rsplit("/", 1)[1]
    again = core.post(f"/console/payables/{payable}/issue", form)  # a double click
    assert (again.status_code, again.headers["location"]) == (303, issued.headers["location"])
    made = site.world.services.certificates.certificate(
        number, principal=site.world.principal("core")
    )
    assert (made.first_holder, made.face, made.status) == (
        "tier1",
        2_000 * 100,
        CertificateStatus.PENDING,
    )
    after = core.get("/console/payables")
    assert f'action="/console/payables/{payable}/issue"' not in after.text  # nothing left open


def test_a_funder_sees_the_requests_open_to_it_and_quotes(site: Site) -> None:
    bank = site.browser()
    bank.sign_in("qian.bo")
    page = bank.get("/console/funding")
    assert page.status_code == 200
    asked = site.ids["market"]
    assert f'action="/console/funding/requests/{asked}/quote"' in page.text
    assert "Credit lines" in page.text  # its line to the core, with what is used
    assert bank.post(f"/console/funding/requests/{asked}/quote",
                     {"rate": "4.5%", "amount": "1000.00"}).status_code == 403  # fmt: skip
    form = form_of(page.text, f"/console/funding/requests/{asked}/quote")
    done = bank.post(f"/console/funding/requests/{asked}/quote",
                     {**form, "rate": "4.5%", "amount": "1000.00"})  # fmt: skip
    assert done.status_code == 303
    changed = bank.post(
        f"/console/funding/requests/{asked}/quote", {**form, "rate": "4.4%", "amount": "1000.00"}
    )  # back, edited, resent
    assert changed.status_code == 409
    assert "This form was sent already, with other values" in changed.text
    quotes = site.world.services.market.quotes(
        int(str(asked)), principal=site.world.principal("bank")
    )
    assert any(q.rate == Decimal("0.045") and q.created_by.endswith("user:qian.bo")
               for q in quotes)  # fmt: skip
    assert not any(q.rate == Decimal("0.044") for q in quotes)  # the edited resend did nothing
    other = site.browser()
    other.sign_in("li.na")  # tier2: no line to anyone, no requests to see
    assert f"/console/funding/requests/{asked}/quote" not in other.get("/console/funding").text


def test_the_operator_verifies_and_settles_the_auditor_only_looks(site: Site) -> None:
    ops = site.browser()
    ops.sign_in("he.ping")
    page = ops.get("/console/platform")
    assert page.status_code == 200
    assert "tier1" in page.text  # the participants
    verified = ops.post("/console/platform/verify", sent(page.text))
    assert verified.status_code == 200
    assert "hash chain: intact" in " ".join(verified.text.split())
    assert "reconcile: yes" in " ".join(verified.text.split())
    settled = ops.post("/console/platform/settle", sent(page.text))
    assert settled.status_code == 200
    assert "Settled:" in settled.text
    auditor = site.browser()
    auditor.sign_in("sun.li")
    seen = auditor.get("/console/platform")
    assert seen.status_code == 200
    assert "/console/platform/settle" not in seen.text
    assert auditor.post("/console/platform/settle", sent(seen.text)).status_code == 403
    supplier = site.browser()
    supplier.sign_in("wang.fang")
    assert supplier.get("/console/platform").status_code == 403


def test_a_supplier_sees_its_invoices_and_where_they_stand_in_the_match(site: Site) -> None:
    supplier = site.browser()
    supplier.sign_in("wang.fang")
    page = supplier.get("/console/invoices")
    assert page.status_code == 200
    assert "26442000000000000001" in page.text  # sent to the core, confirmed into a payable
    assert "confirmed" in page.text
    other = site.browser()
    other.sign_in("li.na")
    assert "26442000000000000001" not in other.get("/console/invoices").text


def test_a_core_offers_early_payment_and_sees_how_far_its_credit_reached(site: Site) -> None:
    core = site.browser()
    core.sign_in("zhao.lei")
    page = core.get("/console/early-payment")
    assert page.status_code == 200
    assert f"<td>{site.ids['early']}</td>" in page.text  # the offer made before
    made = core.post("/console/early-payment", {**form_of(page.text, "/console/early-payment"),
                                                "cash": "20000.00", "hurdle": "3.5%",
                                                "days": "10"})  # fmt: skip
    assert made.status_code == 303
    offers = site.world.services.early_payment.programmes(principal=site.world.principal("core"))
    assert (offers[0].cash, offers[0].hurdle) == (20_000 * 100, Decimal("0.035"))
    wrong = core.post("/console/early-payment", sent(page.text, cash="20000.00", hurdle="3.5%",
                                                     days="0"))  # fmt: skip
    assert wrong.status_code == 422
    assert "1 to 365 days" in wrong.text
    reach = core.get("/console/reach")
    assert reach.status_code == 200
    rows = site.world.services.reach.reach("core", principal=site.world.principal("core"))
    # tier1 accepted 5,000 and 2,000 (the 1,000 is still pending); it paid 2,000 to tier2
    assert [(r.tier, r.received, r.received_face) for r in rows] == [
        (1, 1, 7_000 * 100), (2, 1, 2_000 * 100)]  # fmt: skip
    site.world.services.certificates.transfer(
        principal=site.world.principal("tier2"),
        fragment_id=int(str(site.ids["below"])),
        recipient="tier3",
        amount=500 * 100,
        reference="contract:Y",
        key="reach-t3",
    )  # fmt: skip  (the reach read before is read again: it changed)
    rows = site.world.services.reach.reach("core", principal=site.world.principal("core"))
    assert [(r.tier, r.received) for r in rows] == [(1, 1), (2, 1), (3, 1)]
    assert "CN¥7,000.00" in reach.text
    assert "<svg" in reach.text
    supplier = site.browser()
    supplier.sign_in("wang.fang")
    assert supplier.get("/console/reach").status_code == 403
    assert supplier.get("/console/reach?obligor=core").status_code == 403


def test_a_funder_sets_and_withdraws_a_standing_rule(site: Site) -> None:
    bank = site.browser()
    bank.sign_in("qian.bo")
    page = bank.get("/console/funding")
    set_rule = bank.post("/console/funding/rules", {**form_of(page.text, "/console/funding/rules"),
                                                    "grade": "A", "spread-0-30": "1%",
                                                    "spread-31-90": "1.5%"})  # fmt: skip
    assert set_rule.status_code == 303
    funder = site.world.principal("bank")
    (rule,) = [r for r in site.world.services.standing.rules_of(principal=funder)
               if ("A", "0-30") in r.spreads]  # fmt: skip
    assert dict(rule.spreads) == {("A", "0-30"): Decimal("0.01"), ("A", "31-90"): Decimal("0.015")}
    bad = bank.post("/console/funding/rules", sent(page.text, grade="A", **{"spread-0-30": "x"}))
    assert bad.status_code == 422
    assert "A spread is written as a percentage" in bad.text
    listed = bank.get("/console/funding")
    action = f"/console/funding/rules/{rule.id}/withdraw"
    assert bank.post(action, form_of(listed.text, action)).status_code == 303
    (after,) = [r for r in site.world.services.standing.rules_of(principal=funder)
                if r.id == rule.id]  # fmt: skip
    assert not after.active
    supplier = site.browser()
    supplier.sign_in("wang.fang")
    other = supplier.get("/console/holdings")
    stolen = supplier.post(f"/console/funding/rules/{site.ids['rule']}/withdraw", sent(other.text))
    assert stolen.status_code == 404  # not tier1's rule: as if it did not exist


def test_the_operator_sets_limits_and_days_and_reads_the_audit_trail(site: Site) -> None:
    ops = site.browser()
    ops.sign_in("he.ping")
    page = ops.get("/console/platform")
    assert "erp.example.com/tier1" in page.text  # the webhook endpoint's health
    limit = ops.post("/console/platform/limits",
                     {**form_of(page.text, "/console/platform/limits"), "obligor": "core",
                      "limit": "2000000000.00"})  # fmt: skip
    assert limit.status_code == 303
    everyone = site.world.principal("ops")
    (core_limit,) = [x for x in site.world.services.credit.issuance_limits(principal=everyone)
                     if x.obligor == "core"]  # fmt: skip
    assert core_limit.limit == 2_000_000_000 * 100
    today = site.world.services.admin.reading().today
    day = today + timedelta(days=(2 - today.weekday()) % 7 + 7)  # a Wednesday ahead
    closed = ops.post("/console/platform/calendar",
                      {**form_of(page.text, "/console/platform/calendar"), "day": day.isoformat(),
                       "business_day": "no", "reason": "published schedule"})  # fmt: skip
    assert closed.status_code == 303
    assert site.world.services.settlement.calendar().overrides[day] is False
    assert "override" in ops.get("/console/platform").text
    trail = ops.get("/console/platform/audit")
    assert trail.status_code == 200
    assert "issuance_limit" in trail.text or "limit" in trail.text
    auditor = site.browser()
    auditor.sign_in("sun.li")
    seen = auditor.get("/console/platform")
    assert "/console/platform/limits" not in seen.text  # no form to change anything
    assert (
        auditor.post(
            "/console/platform/limits", sent(seen.text, obligor="core", limit="1.00")
        ).status_code
        == 403
    )
    assert auditor.get("/console/platform/audit").status_code == 200
    supplier = site.browser()
    supplier.sign_in("wang.fang")
    assert supplier.get("/console/platform/audit").status_code == 403


def test_a_step_of_a_certificate_shows_its_postings_to_its_parties_only(site: Site) -> None:
    number, below = site.ids["cert"], site.ids["below"]
    root = site.world.services.certificates.fragments(
        str(number), principal=site.world.principal("tier1"))[0].id  # fmt: skip
    change = site.ids["change"]  # what tier1 kept when it paid 2,000 of the root to tier2
    tier1 = site.browser()
    tier1.sign_in("wang.fang")
    tree = tier1.get(f"/console/certificates/{number}")
    assert f"/console/certificates/{number}/steps/{change}" in tree.text
    step = tier1.get(f"/console/certificates/{number}/steps/{change}")
    assert step.status_code == 200
    assert "tier2" in step.text  # the payment's other leg
    assert f"CERT-{number}" in step.text
    tier2 = site.browser()
    tier2.sign_in("li.na")
    assert tier2.get(f"/console/certificates/{number}/steps/{below}").status_code == 200
    assert tier2.get(f"/console/certificates/{number}/steps/{root}").status_code == 404
    core = site.browser()
    core.sign_in("zhao.lei")
    assert core.get(f"/console/certificates/{number}/steps/{root}").status_code == 200


def test_the_get_cash_form_shows_what_the_market_would_quote_now(site: Site) -> None:
    change = int(str(site.ids["change"]))  # tier1's 3,000 of the first certificate, 116 days
    p, bank = site.world.services, site.world.principal("bank")
    supplier = site.browser()
    supplier.sign_in("wang.fang")
    before = supplier.get(f"/console/fragments/{change}/cash")
    assert "No standing rule would quote this fragment now" in before.text
    p.standing.add_rule(
        principal=bank, spreads={("unrated", "91-180"): Decimal("0.01")}, key="ind"
    )  # fmt: skip  (3.1% base + 1%)
    now = p.market.indicative(change, principal=site.world.principal("tier1"))
    assert (now.best_rate, now.quoting) == (Decimal("0.041"), 1)
    page = supplier.get(f"/console/fragments/{change}/cash")
    assert "4.10%" in page.text
    with pytest.raises(FragmentNotFound):
        p.market.indicative(change, principal=site.world.principal("tier2"))
    other = site.browser()
    other.sign_in("li.na")
    assert other.get(f"/console/fragments/{change}/cash").status_code == 404
