"""The demo economy, simulated day by day through the platform's services (issue 12): the
same use cases the API calls, each under the principal of the firm that acts, on a sandbox
whose clock the operator moves.

Each day: buyers place the month's orders on their ordering day; suppliers deliver five days
later (the buyer's signed receipt, now and then short) and invoice two days after that (now
and then overbilling: a match exception, a dispute that stays unpaid); the cores confirm
their tier-1 suppliers' matched invoices and issue certificates against them, which the
suppliers accept; every holder then pays its own suppliers' invoices with fragments, tier by
tier down the chain; the cores offer cash for early payment on the first business day of a
month; the holders' standing requests are swept (each fragment they receive offered, filled
by the funders' standing rules and the cores' offers, the best price first); the cores fund
what falls due (one of them now and then late); and on business days the settlement run pays
every final holder.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from capillary.adapters.clock import SteppingClock
from capillary.bootstrap import Platform
from capillary.domain.access import Principal, UserRole
from capillary.domain.certificates import FragmentStatus, penalty_interest
from capillary.domain.errors import CapillaryError
from capillary.domain.market_rules import TENOR_BUCKETS
from capillary.domain.trade import (
    Delivery,
    DeliveryLine,
    Invoice,
    InvoiceLine,
    OrderLine,
    PurchaseOrder,
)
from capillary.services.certificates import IssueRequest, Transfer
from capillary.services.parties import new_organization
from capillary.simulation.economy import NEEDS_CASH, Economy, Link

Y = 100
LPR = Decimal("0.031")  # the one-year LPR the operator publishes
VAT = Decimal("0.13")
SHORT_DELIVERY = 0.03  # deliveries the buyer accepts only in part
OVERBILL = 0.03  # invoices that bill more than was accepted: match exceptions, disputed
LATE = 0.5  # of the late payer's due days, how many it funds a week late
EARLY_CASH = 20_000_000 * Y  # what each core offers for early payment each month
EARLY_HURDLE = Decimal("0.046")  # the APR it asks: about the funders' price for its paper
RECOURSE_AFTER = 3  # days a funder waits on an overdue certificate before it turns to the seller


@dataclass
class Stats:
    """What the simulation did, as it went (the report reads the rest from the store)."""

    days: int = 0
    orders: int = 0
    deliveries: int = 0
    invoices: int = 0
    exceptions: int = 0
    payables: int = 0
    issued: int = 0
    issued_face: int = 0
    transfers: int = 0
    transferred: int = 0
    paid_outside: int = 0  # supplier invoices their buyer paid outside the platform
    early_offers: int = 0
    settled_runs: int = 0
    late_fundings: int = 0
    recourse_collected: int = 0
    recourse_collected_amount: int = 0
    # The invoice each received fragment paid, for days to cash: by the fragment a
    # supplier received as payment, and by the certificate issued to a tier-1 supplier.
    invoiced_on: dict[int, date] = field(default_factory=dict)
    invoiced_on_certificate: dict[int, date] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # by step


@dataclass
class _Open:
    """A supplier invoice its buyer has still to pay: what is left of it."""

    invoice: Invoice
    left: int


class Simulation:
    def __init__(
        self, platform: Platform, economy: Economy, *, clock: SteppingClock, start: date,
        days: int, progress: Callable[[int, date], None] | None = None,
    ) -> None:  # fmt: skip
        self.p = platform
        self.clock = clock
        self.e = economy
        self.start = start
        self.days = days
        self.progress = progress
        self.rnd = random.Random(economy.seed * 7 + 1)
        self.stats = Stats()
        self._who: dict[str, Principal] = {}
        self._orders: dict[date, list[PurchaseOrder]] = defaultdict(list)
        self._deliveries: dict[date, list[tuple[Delivery, PurchaseOrder, bool]]] = defaultdict(list)
        self._unpaid: dict[str, list[_Open]] = defaultdict(list)  # by buyer
        self._n = 0
        self._core_codes = {c.code for c in economy.cores}
        self._due: dict[tuple[str, date], int] = defaultdict(int)  # (core, maturity): face
        self._received: set[str] = set()  # who received fragments today: it pays from them

    def as_(self, org: str) -> Principal:
        found = self._who.get(org)
        if found is None:
            found = self._who[org] = self.p.parties.principal(org, "demo",
                                                              user_role=UserRole.ADMIN)  # fmt: skip
        return found

    def key(self, what: str) -> str:
        self._n += 1
        return f"demo-{what}-{self._n}"

    # ------------------------------------------------------------------ setting up

    def set_up(self) -> None:
        p, e, ops = self.p, self.e, self.as_(self.e.operator)
        orgs = [new_organization(code=f.code, name=f.name, scheme="uscc",
                                 identifier=f.identifier, roles=f.roles, industry=f.industry)
                for f in e.firms if f.code != e.operator]  # fmt: skip
        for i in range(0, len(orgs), 500):
            p.parties.register_many(orgs[i:i + 500], principal=ops, key=self.key("orgs"),
                                    atomic=True)  # fmt: skip
        pairs = sorted({(link.buyer, link.supplier) for link in e.links})
        p.parties.relate_many(pairs, principal=ops, key=self.key("relate"), atomic=True)
        s = p.standing
        s.publish_base_rate(principal=ops, currency="CNY", rate=LPR, key="demo-lpr")
        for core in e.cores:
            p.credit.set_issuance_limit(principal=ops, obligor=core.code, cur="CNY",
                                        limit=5_000_000_000 * Y,
                                        key=f"demo-limit-{core.code}")  # fmt: skip
            s.set_grade(core.code, principal=ops, grade=core.grade,
                        reason="Audited accounts and the platform's payment record",
                        key=f"demo-grade-{core.code}")  # fmt: skip
        last = self.start + timedelta(days=self.days + 400)
        for funder in e.funders:
            who = self.as_(funder.code)
            p.cash.deposit(principal=ops, org=funder.code, cur="CNY", amount=funder.line * 3,
                           key=f"demo-wire-{funder.code}")  # fmt: skip
            for core in e.cores:
                p.credit.grant_credit(principal=who, funder=funder.code, obligor=core.code,
                                      cur="CNY", limit=funder.line, expires_on=last,
                                      key=f"demo-line-{funder.code}-{core.code}")  # fmt: skip
            spreads = {}
            for grade, spread in funder.spreads.items():
                for n, (bucket, _) in enumerate(TENOR_BUCKETS):
                    spreads[(grade, bucket)] = spread + n * Decimal("0.002")
            s.add_rule(principal=who, spreads=spreads, recourse=funder.recourse,
                       key=f"demo-rule-{funder.code}")  # fmt: skip
        # Suppliers that need cash early offer what they receive at their standalone rate
        # or better: anything the market gives below what they would pay alone.
        chains = defaultdict(set)
        for link in e.links:
            chains[link.supplier].add(link.buyer)
        core_of = self._cores_of()
        for f in e.firms:
            if f.tier >= 1 and f.cash_need >= NEEDS_CASH:
                for obligor in sorted(core_of[f.code]):
                    s.add_standing_request(principal=self.as_(f.code), obligor=obligor,
                                           max_rate=f.standalone_rate, days=5,
                                           key=f"demo-standing-{f.code}-{obligor}")  # fmt: skip

    def _cores_of(self) -> dict[str, set[str]]:
        """The cores whose certificates can reach each supplier (up its buyers' chains)."""
        buyers = defaultdict(set)
        for link in self.e.links:
            buyers[link.supplier].add(link.buyer)
        found: dict[str, set[str]] = {}

        def up(code: str) -> set[str]:
            if code in self._core_codes:
                return {code}
            if code not in found:
                found[code] = set().union(*(up(b) for b in buyers[code])) if buyers[code] else set()
            return found[code]

        for f in self.e.firms:
            if f.tier >= 1:
                up(f.code)
        return found

    # ------------------------------------------------------------------ the days

    def run(self) -> Stats:
        self._timed("setting up", self.set_up)
        for n in range(self.days):
            day = self.start + timedelta(days=n)
            if n:  # the sandbox's stored clock, and the one the services read, move together
                self.p.admin.set_clock(day, principal=self.as_(self.e.operator),
                                       key=f"demo-clock-{day}")  # fmt: skip
                self.clock.set_day(day)
            self.one_day(day)
            self.stats.days += 1
            if self.progress:
                self.progress(n + 1, day)
        self.p.books.seal(principal=self.as_(self.e.operator))  # as the worker would have
        return self.stats

    def one_day(self, day: date) -> None:
        timed = self._timed
        timed("orders", self._order, day)
        timed("deliveries", self._deliver, day)
        timed("invoices", self._invoice, day)
        timed("certificates issued", self._issue, day)
        timed("payments down the chain", self._pay_down, day)
        calendar = self.p.settlement.calendar()
        business = calendar.is_business_day(day)
        ops = self.as_(self.e.operator)
        first = business and not any(calendar.is_business_day(day.replace(day=d))
                                     for d in range(1, day.day))  # fmt: skip
        if first:  # the first business day of the month
            timed("early-payment offers", self._offer_early_payment, day)
        timed("market: standing requests", lambda: self.p.standing.run_standing(principal=ops))
        timed("cores funding maturities", self._fund_maturities, day)
        if business:
            key = f"demo-settle-{day}"
            timed("settlement", lambda: self.p.settlement.settle(principal=ops, key=key))
            self.stats.settled_runs += 1
        timed("recourse", self._collect_recourse, day)
        timed("market: expiry", lambda: self.p.market.expire(principal=ops))

    def _timed(self, what: str, step: Callable[..., object], *args: object) -> None:
        started = time.perf_counter()
        step(*args)
        self.stats.seconds[what] += time.perf_counter() - started

    def _order(self, day: date) -> None:
        by_buyer: dict[str, list[PurchaseOrder]] = defaultdict(list)
        for link in self.e.links:
            if link.day == day.day or (day.day == 28 and link.day > 28):
                by_buyer[link.buyer].append(self._purchase_order(link, day))
        for buyer, orders in sorted(by_buyer.items()):
            done = self.p.trade.create_orders(orders, principal=self.as_(buyer),
                                              key=self.key("po"))  # fmt: skip
            self._count(done)
            self.stats.orders += len(orders)
            self._orders[day + timedelta(days=5)] += orders

    def _purchase_order(self, link: Link, day: date) -> PurchaseOrder:
        amount = int(link.monthly * self.rnd.uniform(0.8, 1.2))
        price = Decimal(self.rnd.choice((25, 48, 120, 360, 950)))
        quantity = max(1, amount // int(price * Y))
        number = f"PO-{day:%Y%m%d}-{self._n + 1:06d}"
        self._n += 1
        line = OrderLine(1, "ITEM-1", "parts", Decimal(quantity), "pcs", price, VAT)
        return PurchaseOrder(number, link.buyer, link.supplier, "CNY", day, None, (line,))

    def _deliver(self, day: date) -> None:
        by_supplier: dict[str, list[tuple[Delivery, PurchaseOrder, bool]]] = defaultdict(list)
        for order in self._orders.pop(day, []):
            qty = order.lines[0].quantity
            short = self.rnd.random() < SHORT_DELIVERY
            accepted = qty if not short else (qty * Decimal("0.9")).to_integral_value()
            line = DeliveryLine(1, qty, accepted, qty - accepted)
            d = Delivery(f"DN-{order.number[3:]}", order.number, order.buyer, order.supplier,
                         day, (line,))  # fmt: skip
            by_supplier[order.supplier].append((d, order, short))
        for supplier, items in sorted(by_supplier.items()):
            done = self.p.trade.record_deliveries([d for d, _, _ in items],
                                                  principal=self.as_(supplier),
                                                  key=self.key("dn"))  # fmt: skip
            self._count(done)
            self.stats.deliveries += len(items)
            self._deliveries[day + timedelta(days=2)] += items

    def _invoice(self, day: date) -> None:
        by_seller: dict[str, list[tuple[Invoice, bool]]] = defaultdict(list)
        for delivery, order, short in self._deliveries.pop(day, []):
            line = order.lines[0]
            billed: Decimal = delivery.lines[0].accepted or line.quantity
            overbilled = self.rnd.random() < OVERBILL
            if overbilled:
                more = max(Decimal(1), (billed / 20).to_integral_value())
                billed = line.quantity if short else billed + more
            amount = int(billed * line.unit_price * Y)
            tax = int((Decimal(amount) * VAT).to_integral_value())
            number = f"{26}{day:%y%m%d}{self._n + 1:012d}"
            self._n += 1
            inv_line = InvoiceLine(1, 1, billed, line.unit_price, amount, VAT, tax)
            invoice = Invoice(order.supplier, order.buyer, None, number, order.number, "CNY",
                              day, amount, tax, amount + tax, (inv_line,))  # fmt: skip
            by_seller[order.supplier].append((invoice, overbilled))
        for seller, items in sorted(by_seller.items()):
            done = self.p.trade.receive_invoices([i for i, _ in items],
                                                 principal=self.as_(seller),
                                                 key=self.key("inv"))  # fmt: skip
            self._count(done)
            self.stats.invoices += len(items)
            for inv, overbilled in items:
                if overbilled:  # the match names it: a dispute, unpaid until resolved
                    self.stats.exceptions += 1
                    continue
                self._unpaid[inv.buyer].append(_Open(inv, inv.total))

    def _issue(self, day: date) -> None:
        for core in self.e.cores:
            owed = self._unpaid.pop(core.code, [])
            if not owed:
                continue
            who = self.as_(core.code)
            due = day + timedelta(days=core.terms_days)
            requests, invoiced = [], []
            for o in owed:
                payable = self.p.trade.confirm_invoice(
                    o.invoice.seller, None, o.invoice.number, due_date=due, principal=who,
                    key=self.key("confirm"),
                )  # fmt: skip
                self.stats.payables += 1
                requests.append(IssueRequest(core.code, o.invoice.seller, (payable.id,),
                                             payable.amount, due))  # fmt: skip
                invoiced.append(o.invoice.issue_date)
            issued = self.p.certificates.issue_many(requests, principal=who,
                                                    key=self.key("issue"))  # fmt: skip
            for i, invoice_day in zip(issued, invoiced, strict=True):
                cert = i.certificate
                self.stats.invoiced_on_certificate[cert.id] = invoice_day
                self._due[(core.code, cert.maturity)] += cert.face
                self.p.certificates.accept(cert.number, principal=self.as_(cert.first_holder),
                                           key=self.key("accept"))  # fmt: skip
                self._received.add(cert.first_holder)
                self.stats.issued += 1
                self.stats.issued_face += cert.face

    def _pay_down(self, day: date) -> None:
        """Every holder pays its suppliers' open invoices with the fragments it holds, tier
        by tier, so a certificate can travel four tiers in a day; what its fragments do not
        cover it pays outside the platform (not simulated)."""
        for tier in (1, 2, 3):
            payers = sorted(b for b in self._received if self._unpaid.get(b)
                            and self.e.firm(b).tier == tier)  # fmt: skip
            for payer in payers:
                self._pay(payer, day)
        self._received.clear()

    def _pay(self, payer: str, day: date) -> None:
        """``payer`` pays its open supplier invoices, oldest first, from the fragments it
        holds (largest first; one transfer per fragment per batch, its change used in the
        next), never leaving change below the smallest fragment."""
        who = self.as_(payer)
        owed = self._unpaid[payer]
        least = self.p.certificates.rules.min_fragment
        holding = {f.id: (f.amount, c.maturity)
                   for f, c in self.p.certificates.held(payer, principal=who)
                   if f.status is FragmentStatus.ACTIVE
                   and (c.maturity - day).days > 5}  # fmt: skip
        while owed and holding:
            batch, used = [], 0
            for fragment_id, (amount_held, _) in sorted(holding.items(),
                                                        key=lambda kv: -kv[1][0]):  # fmt: skip
                if used >= len(owed):
                    break
                o = owed[used]
                used += 1
                amount = min(o.left, amount_held)
                if 0 < amount_held - amount < least:
                    amount = amount_held - least  # pay a little less; the rest stays owed
                if amount < least:
                    continue
                batch.append((o, Transfer(fragment_id, o.invoice.seller, amount,
                                          o.invoice.number)))  # fmt: skip
            if not batch:
                return
            try:
                moved = self.p.certificates.transfer_many([t for _, t in batch], principal=who,
                                                          key=self.key("pay"))  # fmt: skip
            except CapillaryError as exc:
                self.stats.refusals[exc.code] += 1
                return
            for (o, t), m in zip(batch, moved, strict=True):
                o.left -= t.amount
                self.stats.invoiced_on[m.fragments[0].id] = o.invoice.issue_date
                self._received.add(t.recipient)
                self.stats.transfers += 1
                self.stats.transferred += t.amount
                _, maturity = holding.pop(t.fragment_id)
                if len(m.fragments) > 1:  # the change stays with the payer
                    change = m.fragments[1]
                    holding[change.id] = (change.amount, maturity)
            owed[:] = [o for o in owed if o.left >= least]

    def _offer_early_payment(self, day: date) -> None:
        """Each core with cash to spare (not the late payer) offers some for early payment."""
        for core in self.e.cores:
            if core.late_payer:
                continue
            cash = EARLY_CASH
            self.p.cash.deposit(principal=self.as_(self.e.operator), org=core.code, cur="CNY",
                                amount=cash, key=f"demo-ep-cash-{core.code}-{day}")  # fmt: skip
            self.p.early_payment.offer(principal=self.as_(core.code), cash=cash,
                                       currency="CNY", hurdle=EARLY_HURDLE,
                                       expires_on=day + timedelta(days=27),
                                       key=f"demo-ep-{core.code}-{day}")  # fmt: skip
            self.stats.early_offers += 1

    def _fund_maturities(self, day: date) -> None:
        """Each core wires, three days ahead, the face of what falls due (the late payer, now
        and then, a week after it fell due)."""
        ops = self.as_(self.e.operator)
        for core in self.e.cores:
            due = 0
            for when in (day + timedelta(days=3), day - timedelta(days=7)):
                face = self._due.get((core.code, when), 0)
                if not face:
                    continue
                if when > day and core.late_payer and self.rnd.random() < LATE:
                    self._due[(core.code, when - timedelta(days=7 + 3))] = 0
                    self._due[(core.code, when)] = 0
                    # It pays a week late, with the penalty interest that accrues meanwhile.
                    penalty = penalty_interest(face, self.p.settlement.penalty_rate, 10)
                    self._due[(core.code, when + timedelta(days=10))] += face + penalty
                    self.stats.late_fundings += 1
                    continue
                due += face
                self._due[(core.code, when)] = 0
            if due:
                self.p.cash.deposit(principal=ops, org=core.code, cur="CNY", amount=due,
                                    key=f"demo-fund-{core.code}-{day}")  # fmt: skip

    def _collect_recourse(self, day: date) -> None:
        """A funder that bought with recourse turns to the seller once a certificate has
        been overdue ``RECOURSE_AFTER`` days: the seller repays the face and takes the
        fragment back (its claim on the core now, paid with penalty interest when the core
        pays)."""
        for funder in self.e.funders:
            if not funder.recourse:
                continue
            who = self.as_(funder.code)
            for claim in self.p.settlement.recourse_claims(principal=who, status="open"):
                opened = datetime.fromtimestamp(claim["created_at"] / 1e6, UTC).date()
                if claim["claimant"] != funder.code or (day - opened).days < RECOURSE_AFTER:
                    continue
                try:
                    self.p.settlement.collect_recourse(
                        claim["id"], principal=who, key=f"demo-recourse-{claim['id']}"
                    )
                except CapillaryError as exc:
                    self.stats.refusals[exc.code] += 1
                    continue
                self.stats.recourse_collected += 1
                self.stats.recourse_collected_amount += claim["amount"]

    def _count(self, outcomes: list) -> None:  # type: ignore[type-arg]
        for o in outcomes:
            if getattr(o, "error", None) is not None:
                self.stats.refusals[o.error.code] += 1
