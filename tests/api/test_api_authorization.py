"""Every route of /v1 × every kind of caller, through HTTP: the owner, another organization,
the obligor, a funder, the operator, an auditor, no key, a revoked key, a read-only key;
own resources and foreign ones. Each answer's status is the one expected, and no answer to
an organization outside the chain carries any other organization's data.

Every operation of the spec must have a case here: a new route without one fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from capillary.adapters import score_repository as score_repo
from capillary.adapters.score_repository import StoredModel
from capillary.domain.scoring import persist
from capillary.domain.scoring.training import fit_card
from capillary.domain.trade import Delivery, DeliveryLine
from capillary.entrypoints.api.app import create_app
from tests.api.conftest import CAST, START, World, _world
from tests.support.documents import an_invoice, an_order

Y = 100
DATA = Path(__file__).resolve().parents[1] / "data"
CALLERS = ("ops", "audit", "core", "tier1", "tier2", "tier3", "outsider", "bank", "bank2",
           "tier1-ro", "none", "revoked")  # fmt: skip
ORGS = [c for c in CAST if c not in ("ops", "audit")]


@dataclass
class Case:
    method: str
    path: str  # concrete
    template: str  # as in the spec
    ok: set[str]  # who gets a 2xx
    body: Any = None
    files: Any = None
    #: Who, not ok, gets 403 rather than 404 (it may see the resource); the rest 404.
    forbidden: set[str] = field(default_factory=set)
    lists: bool = False  # a list: everyone with a key gets 200 (their own part)
    #: Callers the domain answers otherwise (the right party, the wrong state: 409).
    answers: dict[str, int] = field(default_factory=dict)


@dataclass
class Seeded:
    world: World
    ids: dict[str, Any]


def _seed(w: World) -> dict[str, Any]:
    p = w.services
    core, tier1, ops = (w.principal(o) for o in ("core", "tier1", "ops"))
    ids: dict[str, Any] = {}
    for n, (number, inv) in enumerate((("PO-1", "26442000000000000001"),
                                       ("PO-2", "26442000000000000002")), 1):  # fmt: skip
        p.trade.create_order(an_order(("10", "1000.00", "0"), number=number), principal=core,
                             key=f"po{n}")  # fmt: skip
        p.trade.record_delivery(
            Delivery(f"DN-{n}", number, "core", "tier1", START,
                     (DeliveryLine(1, Decimal(10), None, None),)),
            principal=tier1, key=f"dn{n}")  # fmt: skip
        p.trade.accept_delivery("tier1", f"DN-{n}", principal=core, key=f"acc{n}")
        p.trade.receive_invoice(an_invoice((1, "10", "1000.00", "0"), number=inv,
                                           order_number=number), principal=tier1,
                                key=f"inv{n}")  # fmt: skip
    p.trade.record_delivery(
        Delivery("DN-3", "PO-1", "core", "tier1", START,
                 (DeliveryLine(1, Decimal(1), None, None),)),
        principal=tier1, key="dn3")  # fmt: skip
    p.trade.match(principal=core, key="m")
    ids["payable"] = p.trade.confirm_invoice("tier1", None, "26442000000000000001",
                                             due_date=date(2027, 3, 1), principal=core,
                                             key="c1").id  # fmt: skip
    p.credit.set_issuance_limit(principal=ops, obligor="core", cur="CNY", limit=10**9, key="l")
    p.credit.grant_credit(principal=w.principal("bank"), funder="bank", obligor="core",
                          cur="CNY", limit=10**9, expires_on=date(2027, 12, 31),
                          key="g")  # fmt: skip
    for org in ("core", "bank", "tier1"):
        p.cash.deposit(principal=ops, org=org, cur="CNY", amount=10**8, key=f"d-{org}")
    c1 = p.certificates.issue(principal=core, obligor="core", holder="tier1",
                              payable_ids=[ids["payable"]], face=5_000 * Y,
                              maturity=date(2027, 2, 26), key="i1").certificate  # fmt: skip
    p.certificates.accept(c1.number, principal=tier1, key="a1")
    root = p.certificates.fragments(c1.number, principal=tier1)[0]
    below, change = p.certificates.transfer(principal=tier1, fragment_id=root.id,
                                            recipient="tier2", amount=2_000 * Y,
                                            reference="contract:X", key="t1")  # fmt: skip
    c2 = p.certificates.issue(principal=core, obligor="core", holder="tier1",
                              payable_ids=[ids["payable"]], face=1_000 * Y,
                              maturity=date(2027, 2, 26), key="i2").certificate  # fmt: skip
    offer = p.financing.offer_financing(principal=tier1, fragment_id=change.id, funder="bank",
                                        amount=1_000 * Y, rate=Decimal("0.05"),
                                        key="o1")  # fmt: skip
    account = p.books.find_account(org="tier1", unit="CNY", code="cash", principal=ops)
    spare = p.keys.create(principal=ops, org="tier1", name="spare", scopes="read", key="sp")
    c3 = p.certificates.issue(principal=core, obligor="core", holder="tier1",
                              payable_ids=[ids["payable"]], face=2_000 * Y,
                              maturity=date(2027, 2, 26), key="i3").certificate  # fmt: skip
    p.certificates.accept(c3.number, principal=tier1, key="a3")
    market_root = p.certificates.fragments(c3.number, principal=tier1)[0]
    asked = p.market.request_financing(principal=tier1, fragment_id=market_root.id,
                                       amount=1_000 * Y, max_rate=Decimal("0.08"),
                                       expires_on=date(2026, 12, 31), key="mr")  # fmt: skip
    bank = w.principal("bank")
    p.standing.publish_base_rate(principal=ops, currency="CNY", rate=Decimal("0.031"), key="lpr")
    rule = p.standing.add_rule(
        principal=bank, spreads={("unrated", "31-90"): Decimal("0.05")}, key="rule"
    )  # fmt: skip  (8.1%: beyond what tier1 accepts)
    standing = p.standing.add_standing_request(principal=tier1, obligor="core",
                                               max_rate=Decimal("0.06"), key="st")  # fmt: skip
    early = p.early_payment.offer(principal=core, cash=50_000 * Y, currency="CNY",
                                  hurdle=Decimal("0.03"), expires_on=date(2026, 12, 31),
                                  key="ep")  # fmt: skip
    early_bid = p.early_payment.bid(early.id, principal=w.principal("tier2"),
                                    fragment_id=below.id, amount=1_000 * Y,
                                    apr=Decimal("0.02"), key="epb")  # fmt: skip
    # (below the hurdle: the clearing case pays nothing and leaves the fragment for later ones)
    hook = p.webhooks.register(principal=tier1, url="https://erp.example.com/tier1",
                               types=["*"], key="wh").endpoint  # fmt: skip
    p.relay.fan_out()
    (delivery, *_) = p.webhooks.deliveries(hook.id, principal=tier1)
    ids.update(cert=c1.number, pending=c2.number, change=change.id, below=below.id,
               offer=offer.id, account=account.id, key=spare.key.id, hook=hook.id,
               delivery=delivery.id, market_root=market_root.id, market=asked.id,
               early=early.id, early_bid=early_bid.id, rule=rule.id,
               standing=standing.id)  # fmt: skip
    _score(w)
    return ids


def _score(w: World) -> None:
    """An active scorecard (the world is too small to fit one on its own outcomes: fitted on
    a made-up table, stored as the service stores one) and everyone scored by it."""
    rows = [{"tenure_days": str(n)} for n in range(60)]
    labels = [1 if n < 20 or n % 9 == 0 else 0 for n in range(60)]
    card, model_card = fit_card(rows, labels, ["tenure_days"], version=1, as_of=START,
                                horizon_days=90, labelled_by="a test", created="now")  # fmt: skip
    stored = StoredModel(1, START, 90, model_card, persist.dump(card), True, 0, "test")
    w.services.scoring.db.transaction(lambda c: score_repo.insert_model(c, stored))
    w.services.scoring.run(principal=w.principal("ops"), key="scored")


@pytest.fixture
def seeded(store_url: str) -> Iterator[Seeded]:
    for w in _world(store_url):
        yield Seeded(w, _seed(w))


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def cases(ids: dict[str, Any]) -> list[Case]:
    cert, pending, change, below = ids["cert"], ids["pending"], ids["change"], ids["below"]
    order = {
        "buyer": "core",
        "supplier": "tier1",
        "number": "PO-9",
        "order_date": "2026-11-02",
        "lines": [{"line_no": 1, "item": "X", "quantity": "1", "unit_price": "1.00"}],
    }
    delivery = {
        "supplier": "tier1",
        "buyer": "core",
        "number": "DN-9",
        "order_number": "PO-1",
        "delivered_on": "2026-11-02",
        "lines": [{"order_line_no": 1, "quantity": "1"}],
    }
    invoice = {
        "seller": "tier1",
        "buyer": "core",
        "number": "26442000000000000009",
        "order_number": "PO-1",
        "issue_date": "2026-11-02",
        "amount": "1.00",
        "total": "1.00",
        "lines": [
            {
                "line_no": 1,
                "order_line_no": 1,
                "quantity": "1",
                "unit_price": "1.00",
                "line_amount": "1.00",
            }
        ],
    }
    seers = {"core", "tier1", "tier2", "ops", "audit"}  # parties to the certificate
    csv = (
        "orders.csv",
        b"buyer,supplier,number,currency,order_date,line_no,item,quantity,"
        b"uom,unit_price,tax_rate\ncore,tier1,PO-77,CNY,2026-11-02,1,X,1,EA,1.00,0\n",
    )
    C = Case  # noqa: N806
    return [
        # reads
        C("GET", "/v1/clock", "/v1/clock", set(ORGS) | {"ops", "audit", "tier1-ro"}),
        C("GET", "/v1/organizations", "/v1/organizations", set(), lists=True),
        C(
            "GET",
            "/v1/organizations/core",
            "/v1/organizations/{code}",
            set(ORGS) | {"ops", "audit", "tier1-ro"},
        ),
        C("GET", "/v1/relationships", "/v1/relationships", set(), lists=True),
        C("GET", "/v1/api-keys", "/v1/api-keys", set(), lists=True),
        C("GET", "/v1/orders", "/v1/orders", set(), lists=True),
        C(
            "GET",
            "/v1/orders/core/PO-1",
            "/v1/orders/{buyer}/{number}",
            {"core", "tier1", "tier1-ro", "ops", "audit"},
        ),
        C("GET", "/v1/deliveries", "/v1/deliveries", set(), lists=True),
        C(
            "GET",
            "/v1/deliveries/tier1/DN-1",
            "/v1/deliveries/{supplier}/{number}",
            {"core", "tier1", "tier1-ro", "ops", "audit"},
        ),
        C("GET", "/v1/invoices", "/v1/invoices", set(), lists=True),
        C(
            "GET",
            "/v1/invoices/tier1/26442000000000000001",
            "/v1/invoices/{seller}/{number}",
            {"core", "tier1", "tier1-ro", "ops", "audit"},
        ),
        C("GET", "/v1/payables", "/v1/payables", set(), lists=True),
        C(
            "GET",
            f"/v1/payables/{ids['payable']}",
            "/v1/payables/{payable_id}",
            {"core", "tier1", "tier1-ro", "ops", "audit"},
        ),
        C("GET", "/v1/credit-lines", "/v1/credit-lines", set(), lists=True),
        C("GET", "/v1/issuance-limits", "/v1/issuance-limits", set(), lists=True),
        C(
            "GET",
            "/v1/cash/tier1/CNY",
            "/v1/cash/{org}/{currency}",
            {"tier1", "tier1-ro", "ops", "audit"},
        ),
        C("GET", "/v1/certificates", "/v1/certificates", set(), lists=True),
        C("GET", f"/v1/certificates/{cert}", "/v1/certificates/{number}", seers | {"tier1-ro"}),
        C("GET", "/v1/fragments", "/v1/fragments", set(), lists=True),
        C(
            "GET",
            f"/v1/fragments/{below}/lineage",
            "/v1/fragments/{fragment_id}/lineage",
            {"core", "tier2", "ops", "audit"},
        ),
        C("GET", "/v1/financing-offers", "/v1/financing-offers", set(), lists=True),
        C(
            "GET",
            f"/v1/financing-offers/{ids['offer']}",
            "/v1/financing-offers/{offer_id}",
            {"tier1", "tier1-ro", "bank", "ops", "audit"},
        ),
        C("GET", "/v1/recourse-claims", "/v1/recourse-claims", set(), lists=True),
        C("GET", "/v1/ledger/accounts", "/v1/ledger/accounts", set(), lists=True),
        C(
            "GET",
            f"/v1/ledger/accounts/{ids['account']}",
            "/v1/ledger/accounts/{account_id}",
            {"tier1", "tier1-ro", "ops", "audit"},
        ),
        C(
            "GET",
            f"/v1/ledger/accounts/{ids['account']}/history",
            "/v1/ledger/accounts/{account_id}/history",
            {"tier1", "tier1-ro", "ops", "audit"},
        ),
        C(
            "GET",
            "/v1/ledger/verify",
            "/v1/ledger/verify",
            {"ops", "audit"},
            forbidden=set(ORGS) | {"tier1-ro"},
        ),
        C(
            "GET",
            "/v1/ledger/reconciliation",
            "/v1/ledger/reconciliation",
            {"ops", "audit"},
            forbidden=set(ORGS) | {"tier1-ro"},
        ),
        C("GET", "/v1/audit?entity=order&key=core/PO-1", "/v1/audit", set(), lists=True),
        C("GET", "/v1/events", "/v1/events", set(), lists=True),
        C("GET", "/v1/webhooks", "/v1/webhooks", set(), lists=True),
        C(
            "GET",
            f"/v1/webhooks/{ids['hook']}",
            "/v1/webhooks/{webhook_id}",
            {"tier1", "tier1-ro", "ops", "audit"},
        ),
        C(
            "GET",
            f"/v1/webhooks/{ids['hook']}/deliveries",
            "/v1/webhooks/{webhook_id}/deliveries",
            {"tier1", "tier1-ro", "ops", "audit"},
        ),
        C(
            "GET",
            f"/v1/webhook-deliveries/{ids['delivery']}",
            "/v1/webhook-deliveries/{delivery_id}",
            {"tier1", "tier1-ro", "ops", "audit"},
        ),
        # webhooks are managed by the organization's admin only (no caller here is tier1's)
        C(
            "POST",
            "/v1/webhooks",
            "/v1/webhooks",
            {"ops"},
            {"url": "https://erp.example.com/ops", "types": ["*"]},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            f"/v1/webhooks/{ids['hook']}/replay",
            "/v1/webhooks/{webhook_id}/replay",
            set(),
            {},
            forbidden={"tier1", "tier1-ro", "ops", "audit"},
        ),
        C(
            "POST",
            f"/v1/webhooks/{ids['hook']}/disable",
            "/v1/webhooks/{webhook_id}/disable",
            set(),
            forbidden={"tier1", "tier1-ro", "ops", "audit"},
        ),
        # the core's early payment, before a write below pays its certificate early
        *early_payment_cases(ids),
        # writes, refused to all but one; the one runs last, so each case finds its state
        C(
            "POST",
            "/v1/organizations",
            "/v1/organizations",
            {"ops"},
            {
                "code": "newco",
                "name": "New Co",
                "identifier": "91440300MA5G0000AQ",
                "roles": ["supplier"],
            },
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/organizations/core/tolerance",
            "/v1/organizations/{code}/tolerance",
            {"core"},
            {"percent": "2", "absolute": money("10.00")},
            forbidden=set(ORGS) | {"ops", "audit", "tier1-ro"} - {"core"},
        ),
        C(
            "POST",
            "/v1/relationships",
            "/v1/relationships",
            {"ops"},
            {"buyer": "core", "supplier": "tier3"},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/relationships/tier2/tier3/status",
            "/v1/relationships/{buyer}/{supplier}/status",
            {"ops"},
            {"status": "active"},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/api-keys",
            "/v1/api-keys",
            {"ops"},
            {"org": "tier1", "name": "erp", "scopes": ["read"]},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            f"/v1/api-keys/{ids['key']}/revoke",
            "/v1/api-keys/{key_id}/revoke",
            {"ops"},
            forbidden={"tier1", "tier1-ro", "audit"},
        ),
        C(
            "POST",
            "/v1/orders",
            "/v1/orders",
            {"core"},
            order,
            forbidden=set(ORGS) | {"ops", "audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/orders/core/PO-2/cancel",
            "/v1/orders/{buyer}/{number}/cancel",
            {"core"},
            {"reason": "no longer needed"},
            forbidden={"tier1", "tier1-ro", "ops", "audit"},
        ),
        C(
            "POST",
            "/v1/deliveries",
            "/v1/deliveries",
            {"tier1"},
            delivery,
            forbidden=set(ORGS) | {"ops", "audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/deliveries/tier1/DN-3/accept",
            "/v1/deliveries/{supplier}/{number}/accept",
            {"core"},
            {},
            forbidden={"tier1", "tier1-ro", "ops", "audit"},
        ),
        C(
            "POST",
            "/v1/invoices",
            "/v1/invoices",
            {"tier1"},
            invoice,
            forbidden=set(ORGS) | {"ops", "audit", "tier1-ro"},
        ),
        # each buyer matches its own invoices: an organization with none matches nothing
        C(
            "POST",
            "/v1/invoices/match",
            "/v1/invoices/match",
            set(ORGS) | {"ops"},
            {},
            forbidden={"audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/invoices/tier1/26442000000000000002/confirm",
            "/v1/invoices/{seller}/{number}/confirm",
            {"core"},
            {"due_date": "2027-03-01"},
            forbidden={"tier1", "tier1-ro", "ops", "audit"},
        ),
        C(
            "POST",
            f"/v1/payables/{ids['payable']}/reduce",
            "/v1/payables/{payable_id}/reduce",
            {"tier1"},
            {"amount": money("1.00"), "why": "paid"},
            forbidden={"core", "tier1-ro", "ops", "audit"},
        ),
        C(
            "POST",
            "/v1/imports/orders",
            "/v1/imports/{kind}",
            {"core", "tier1", "ops"},
            files={"file": csv},
            forbidden={"audit", "tier1-ro"},
            lists=True,
        ),
        C(
            "POST",
            "/v1/credit-lines",
            "/v1/credit-lines",
            {"bank2"},
            {
                "funder": "bank2",
                "obligor": "core",
                "limit": money("1000.00"),
                "expires_on": "2027-12-31",
            },
            forbidden=set(ORGS) | {"ops", "audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/issuance-limits",
            "/v1/issuance-limits",
            {"ops"},
            {"obligor": "core", "limit": money("20000000.00")},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/deposits",
            "/v1/deposits",
            {"ops"},
            {"org": "tier2", "amount": money("1.00")},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/withdrawals",
            "/v1/withdrawals",
            {"tier1"},
            {"org": "tier1", "amount": money("1.00")},
            forbidden=set(ORGS) | {"ops", "audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/certificates",
            "/v1/certificates",
            {"core"},
            {
                "obligor": "core",
                "holder": "tier1",
                "payable_ids": [ids["payable"]],
                "face": money("100.00"),
                "maturity": "2027-02-26",
            },
            forbidden=set(ORGS) | {"ops", "audit", "tier1-ro"} - {"core"},
        ),
        C(
            "POST",
            f"/v1/certificates/{pending}/cancel",
            "/v1/certificates/{number}/cancel",
            {"core"},
            {"reason": "wrong face"},
            forbidden={"tier1", "tier1-ro", "ops", "audit"},
        ),
        C(
            "POST",
            f"/v1/certificates/{cert}/accept",
            "/v1/certificates/{number}/accept",
            set(),
            forbidden={"core", "tier2", "tier1-ro", "ops", "audit"},
            answers={"tier1": 409},
        ),  # accepted already
        C(
            "POST",
            f"/v1/fragments/{change}/transfers",
            "/v1/fragments/{fragment_id}/transfers",
            {"tier1"},
            {"recipient": "tier2", "amount": money("100.00"), "reference": "contract:Y"},
            forbidden={"core", "tier1-ro", "ops", "audit"},
        ),
        # bank2 has a line to the core by now (granted above): it may quote too
        C(
            "POST",
            "/v1/financing-quotes",
            "/v1/financing-quotes",
            {"bank", "bank2"},
            {"fragment_id": below, "seller": "tier2", "amount": money("100.00"), "rate": "0.05"},
            forbidden={"core", "tier2", "ops", "audit"},
        ),
        C(
            "POST",
            "/v1/financing-offers",
            "/v1/financing-offers",
            {"tier2"},
            {"fragment_id": below, "funder": "bank", "amount": money("100.00"), "rate": "0.05"},
            forbidden={"core", "ops", "audit"},
        ),
        C(
            "POST",
            f"/v1/financing-offers/{ids['offer']}/withdraw",
            "/v1/financing-offers/{offer_id}/withdraw",
            {"tier1"},
            forbidden={"bank", "tier1-ro", "ops", "audit"},
        ),
        C(
            "POST",
            f"/v1/financing-offers/{ids['offer']}/accept",
            "/v1/financing-offers/{offer_id}/accept",
            set(),  # withdrawn just before: none
            forbidden={"tier1", "tier1-ro", "ops", "audit"},
            answers={"bank": 409},
        ),
        C(
            "POST",
            f"/v1/certificates/{cert}/pay-early",
            "/v1/certificates/{number}/pay-early",
            {"core"},
            {"rate": "0.05"},
            forbidden={"tier1", "tier2", "tier1-ro", "ops", "audit"},
        ),
        C("POST", "/v1/recourse-claims/1/collect", "/v1/recourse-claims/{claim_id}/collect", set()),
        C(
            "POST",
            "/v1/calendar-days",
            "/v1/calendar-days",
            {"ops"},
            {"day": "2027-05-03", "business_day": False, "reason": "holiday"},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/settlement-runs",
            "/v1/settlement-runs",
            {"ops"},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/clock/set",
            "/v1/clock/set",
            {"ops"},
            {"day": "2026-11-03"},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        C(
            "POST",
            "/v1/clock/advance",
            "/v1/clock/advance",
            {"ops"},
            {"days": 1},
            forbidden=set(ORGS) | {"audit", "tier1-ro"},
        ),
        *market_cases(ids),
    ]


def early_payment_cases(ids: dict[str, Any]) -> list[Case]:
    """The core's early-payment offer: seen by the core, the holders of its certificates
    (tier1, tier2) and those who see all; tier2's bid on its fragment."""
    e, b, C = ids["early"], ids["early_bid"], Case  # noqa: N806
    sees = {"core", "tier1", "tier1-ro", "tier2", "ops", "audit"}
    base = "/v1/market/early-payments/{programme_id}"
    return [
        C("GET", f"/v1/market/early-payments/{e}", base, sees),
        C("GET", f"/v1/market/early-payments/{e}/bids", base + "/bids", sees),
        C("GET", f"/v1/market/early-payments/{e}/bids/{b}/outlook",
          base + "/bids/{bid_id}/outlook", {"tier2", "core", "ops", "audit"}),
        C("POST", "/v1/market/early-payments", "/v1/market/early-payments", {"core"},
          {"cash": money("1000.00"), "hurdle": "0.05", "expires_on": "2026-12-31"},
          forbidden=set(ORGS) | {"ops", "audit", "tier1-ro"} - {"core"}),
        C("POST", f"/v1/market/early-payments/{e}/bids", base + "/bids", set(),
          {"fragment_id": ids["below"], "amount": money("500.00"), "apr": "0.07"},
          forbidden={"core", "ops", "audit"}, answers={"tier2": 422}),
        C("POST", f"/v1/market/early-payments/{e}/clear", base + "/clear", {"core"},
          forbidden=sees - {"core"}),
    ]  # fmt: skip


def market_cases(ids: dict[str, Any]) -> list[Case]:
    """The marketplace: a request is tier1's; bank (a line to the core) sees it open, bank2
    (none) does not. Run last: the fill moves tier1's fragment."""
    r, C = ids["market"], Case  # noqa: N806
    # bank2 has a line to the core by now (a case before grants it); it has no cash.
    sees = {"tier1", "tier1-ro", "ops", "audit", "bank", "bank2"}
    return [
        C("GET", "/v1/market/requests", "/v1/market/requests", set(), lists=True),
        C("GET", "/v1/market/view", "/v1/market/view", set(), lists=True),
        C("GET", f"/v1/market/requests/{r}", "/v1/market/requests/{request_id}", sees),
        C("GET", f"/v1/market/requests/{r}/quotes", "/v1/market/requests/{request_id}/quotes",
          sees),
        C("POST", "/v1/market/requests", "/v1/market/requests", {"tier1"},
          {"fragment_id": ids["market_root"], "amount": money("500.00"), "max_rate": "0.07",
           "expires_on": "2026-12-30"},
          forbidden={"tier1-ro", "ops", "audit", "core"}),
        C("POST", f"/v1/market/requests/{r}/quotes", "/v1/market/requests/{request_id}/quotes",
          {"bank", "bank2"},
          {"rate": "0.05", "amount": money("1000.00"), "valid_until": "2026-12-20"},
          forbidden={"tier1", "tier1-ro", "ops", "audit"}),
        C("PATCH", f"/v1/market/requests/{r}", "/v1/market/requests/{request_id}", {"tier1"},
          {"max_rate": "0.075"}, forbidden={"tier1-ro", "ops", "audit", "bank", "bank2"}),
        C("GET", f"/v1/market/requests/{r}/replay", "/v1/market/requests/{request_id}/replay",
          {"tier1", "tier1-ro", "ops", "audit"}),
        *standing_cases(ids),
        *bank_cases(),
        *scoring_cases(),  # last: a credit decision regrades the core
        C("POST", f"/v1/market/requests/{r}/fill", "/v1/market/requests/{request_id}/fill",
          {"tier1"}, forbidden={"tier1-ro", "ops", "audit", "bank", "bank2"}),
        C("POST", f"/v1/market/requests/{r}/cancel", "/v1/market/requests/{request_id}/cancel",
          set(), forbidden={"tier1-ro", "ops", "audit"}, answers={"tier1": 409}),
    ]  # fmt: skip


def standing_cases(ids: dict[str, Any]) -> list[Case]:
    """The standing parts: the operator's base rate and grades; bank's standing rule;
    tier1's standing request; the sweep."""
    rule, st, C = ids["rule"], ids["standing"], Case  # noqa: N806
    everyone_else = set(ORGS) | {"audit", "tier1-ro"}
    holders = {"tier1", "tier2", "tier3", "outsider", "bank", "bank2"}
    return [
        C("POST", "/v1/market/base-rates", "/v1/market/base-rates", {"ops"},
          {"rate": "0.031"}, forbidden=everyone_else),
        C("GET", "/v1/market/base-rates/CNY", "/v1/market/base-rates/{currency}", set(),
          lists=True),
        C("PUT", "/v1/market/grades/core", "/v1/market/grades/{obligor}", {"ops"},
          {"grade": "AA", "reason": "Audited accounts"}, forbidden=everyone_else),
        C("GET", "/v1/market/grades/core", "/v1/market/grades/{obligor}",
          {"core", "ops", "audit", "bank", "bank2"}),
        C("POST", "/v1/market/rules", "/v1/market/rules", {"bank", "bank2"},
          {"spreads": [{"grade": "AA", "tenor": "31-90", "spread": "0.01"}]},
          forbidden=everyone_else | {"ops"} - {"bank", "bank2"}),
        C("GET", "/v1/market/rules", "/v1/market/rules", set(), lists=True),
        C("POST", f"/v1/market/rules/{rule}/withdraw", "/v1/market/rules/{rule_id}/withdraw",
          {"bank"}, forbidden={"ops", "audit"}),
        C("POST", "/v1/market/standing-requests", "/v1/market/standing-requests", holders,
          {"obligor": "core", "max_rate": "0.05"},
          forbidden={"ops", "audit", "tier1-ro", "core"}),
        C("GET", "/v1/market/standing-requests", "/v1/market/standing-requests", set(),
          lists=True),
        C("POST", "/v1/market/standing-runs", "/v1/market/standing-runs", {"ops"},
          forbidden=everyone_else),
        C("POST", f"/v1/market/standing-requests/{st}/cancel",
          "/v1/market/standing-requests/{standing_id}/cancel", {"tier1"},
          forbidden={"ops", "audit", "tier1-ro"}),
    ]  # fmt: skip


def scoring_cases() -> list[Case]:
    """Scoring and risk: the operator fits, activates, runs and decides; staff read models,
    scores, suggestions, exposure and stress tests; an organization its own score; a funder
    with a line the obligor's grade; spreads are everyone's."""
    C = Case  # noqa: N806
    writers_not = set(ORGS) | {"audit", "tier1-ro"}
    readers_not = set(ORGS) | {"tier1-ro"}
    labels = [{"organization": "core", "bad": True}, {"organization": "tier1", "bad": False}]
    return [
        C("POST", "/v1/scoring/models", "/v1/scoring/models", set(), {"labels": labels},
          forbidden=writers_not, answers={"ops": 422}),  # too few outcomes to fit on
        C("GET", "/v1/scoring/models", "/v1/scoring/models", {"ops", "audit"},
          forbidden=readers_not),
        C("GET", "/v1/scoring/models/1", "/v1/scoring/models/{version}", {"ops", "audit"},
          forbidden=readers_not),
        C("POST", "/v1/scoring/models/1/activate", "/v1/scoring/models/{version}/activate",
          {"ops"}, forbidden=writers_not),
        C("POST", "/v1/scoring/runs", "/v1/scoring/runs", {"ops"}, {}, forbidden=writers_not),
        C("GET", "/v1/scoring/scores", "/v1/scoring/scores", {"ops", "audit"},
          forbidden=readers_not),
        C("GET", "/v1/scoring/scores/core", "/v1/scoring/scores/{org}",
          {"core", "ops", "audit", "bank", "bank2"}),
        C("GET", "/v1/scoring/suggestions", "/v1/scoring/suggestions", {"ops", "audit"},
          forbidden=readers_not),
        C("POST", "/v1/scoring/decisions", "/v1/scoring/decisions", {"ops"},
          {"obligor": "core", "reason": "as scored"}, forbidden=writers_not),
        C("GET", "/v1/scoring/spreads", "/v1/scoring/spreads", set(), lists=True),
        C("GET", "/v1/risk/exposure", "/v1/risk/exposure", {"ops", "audit"},
          forbidden=readers_not),
        C("GET", "/v1/risk/stress?default=core", "/v1/risk/stress", {"ops", "audit"},
          forbidden=readers_not),
        C("POST", "/v1/risk/monitor-runs", "/v1/risk/monitor-runs", {"ops"},
          forbidden=writers_not),
    ]  # fmt: skip


def bank_cases() -> list[Case]:
    """Bank files: an organization puts its own account on file and reads its own accounts
    and statement; payments are listed as each may see them; the operator runs payments and
    imports the bank's statements."""
    C = Case  # noqa: N806
    staff_and_tier1 = {"tier1", "tier1-ro", "ops", "audit"}
    account = {"org": "tier1", "currency": "CNY", "number": "6222020200112233445",
               "holder": "Tier1 Ltd", "bic": "ICBKCNBJ"}  # fmt: skip
    statement = (DATA / "bank" / "statement.camt053.xml").read_text()
    return [
        C("POST", "/v1/bank-accounts", "/v1/bank-accounts", {"tier1"}, account,
          forbidden=set(ORGS) | {"ops", "audit", "tier1-ro"}),
        C("GET", "/v1/bank-accounts/tier1", "/v1/bank-accounts/{org}", staff_and_tier1),
        C("GET", "/v1/bank/payments", "/v1/bank/payments", set(), lists=True),
        C("POST", "/v1/bank/payment-runs", "/v1/bank/payment-runs", {"ops"},
          forbidden=set(ORGS) | {"audit", "tier1-ro"}),
        C("POST", "/v1/bank/statements", "/v1/bank/statements", {"ops"},
          {"document": statement}, forbidden=set(ORGS) | {"audit", "tier1-ro"}),
        C("GET", "/v1/bank/statements/tier1", "/v1/bank/statements/{org}", staff_and_tier1),
    ]  # fmt: skip


def expected(case: Case, who: str) -> set[int]:
    if who in ("none", "revoked"):
        return {401}
    if who in case.answers:
        return {case.answers[who]}
    if who in case.ok:
        return {200, 201}
    if case.lists and case.method == "GET":
        return {200}
    if who in case.forbidden:
        return {403}
    if case.lists:  # an import by one who may not: each row refused, or the whole file
        return {200, 403, 422}
    return {404} if case.method == "GET" or "{" in case.template else {403, 404}


def foreign_codes(who: str, body: str) -> set[str]:
    """Codes of organizations other than ``who`` (and the platform's operator, who made its
    keys) named in an answer to an outsider."""
    found = set()
    for org in CAST:
        if org not in (who, "ops") and (
            f'"{org}"' in body or f"{org}:" in body or f"{org}/" in body
        ):
            found.add(org)
    return found


def test_every_route_answers_every_caller_as_expected(seeded: Seeded) -> None:
    w, ids = seeded.world, seeded.ids
    all_cases = cases(ids)
    spec = create_app(None).openapi()["paths"]
    covered = {(c.method, c.template) for c in all_cases}
    missing = {(m.upper(), p) for p, ops in spec.items() if p.startswith("/v1/") for m in ops
               } - covered  # fmt: skip
    assert not missing, f"routes without an authorization case: {sorted(missing)}"

    failures = []
    with httpx.Client(base_url=w.base, timeout=30) as http:
        for n, case in enumerate(all_cases):
            order = [c for c in CALLERS if c not in case.ok] + sorted(case.ok)
            for who in order:
                headers = {"Idempotency-Key": f"m{n}-{who}"}
                if who in w.keys:
                    headers["Authorization"] = f"Bearer {w.keys[who]}"
                files = None
                if case.files:
                    files = {k: (name, data.replace(b"PO-77", f"PO-{n}-{who}".encode()))
                             for k, (name, data) in case.files.items()}  # fmt: skip
                answer = http.request(case.method, case.path, headers=headers,
                                      json=case.body if case.files is None else None,
                                      files=files)  # fmt: skip
                if answer.status_code not in expected(case, who):
                    failures.append(f"{case.method} {case.path} as {who}: {answer.status_code} "
                                    f"{answer.text[:160]}")  # fmt: skip
                    continue
                if who == "outsider" and answer.status_code < 300:
                    leaked = foreign_codes("outsider", answer.text)
                    if case.template.startswith("/v1/organizations"):
                        leaked = set()  # the public directory
                    if case.template.startswith("/v1/market/standing-requests"):
                        leaked -= {"core"}  # the obligor it named itself (the directory's)
                    if leaked:
                        failures.append(f"{case.path} showed outsider {sorted(leaked)}")
    assert not failures, "\n".join(failures)


def test_a_list_shows_nobody_else_s_records(seeded: Seeded) -> None:
    """tier3 (in no trade yet) and bank2 (no line, no fragment) see empty lists."""
    w = seeded.world
    with httpx.Client(base_url=w.base) as http:
        for who in ("tier3", "bank2", "outsider"):
            headers = {"Authorization": f"Bearer {w.keys[who]}"}
            for path in ("/v1/orders", "/v1/invoices", "/v1/payables", "/v1/certificates",
                         "/v1/fragments", "/v1/financing-offers", "/v1/credit-lines",
                         "/v1/recourse-claims"):  # fmt: skip
                items = http.get(path, headers=headers).json()["items"]
                assert items == [], (who, path, json.dumps(items)[:200])
