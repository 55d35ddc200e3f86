"""A seeded supply-chain economy (issue 12): core enterprises in different industries, four
tiers of suppliers below them — fan-out growing down the tiers, buyers chosen by
preferential attachment so a few suppliers become hubs, some selling into two chains —
funders with credit lines and standing quote rules, the operator and an auditor. A pure
function of its seed and size: the same seed builds the same economy.

Every firm has a *standalone rate*: what it would pay to borrow without the platform, by
tier and size (the smaller and deeper, the dearer), so the report can show what financing
on its core's credit saved it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from decimal import Decimal

from stdnum.cn import uscc

from capillary.domain.parties import Role

Y = 100  # fen per yuan

#: The cores: code, name, industry, grade, payment terms (days), whether it sometimes pays late.
CORES = (
    ("huaxin-auto", "Shenzhen Huaxin Automotive", "autos", "AA", 120, False),
    ("lanshan-electronics", "Suzhou Lanshan Electronics", "electronics", "AA+", 90, False),
    ("jiangnan-construction", "Jiangnan Construction Group", "construction", "A", 180, True),
)  # fmt: skip
#: The funders: code, name, spread over the base rate by core grade, recourse, line per core
#: (yuan). The factors buy with recourse to the seller, so they price the weaker core's paper
#: below the banks (the seller stands behind it) and the stronger cores' above.
FUNDERS = (
    ("merchants-bank", "China Merchants Bank Supply Chain", {"AA+": "0.008", "AA": "0.010",
                                                          "A": "0.016"}, False, 400_000_000),
    ("icbc-scf", "ICBC Supply Chain Finance", {"AA+": "0.009", "AA": "0.011", "A": "0.018"},
     False, 400_000_000),
    ("cicc-factoring", "CICC Supply Chain Factoring", {"AA+": "0.012", "AA": "0.014",
                                                       "A": "0.012"}, True, 200_000_000),
    ("pingan-factoring", "Ping An Commercial Factoring", {"AA+": "0.013", "AA": "0.015",
                                                          "A": "0.013"}, True, 200_000_000),
    ("xinda-leasing", "Xinda Financial Leasing", {"AA+": "0.015", "AA": "0.018",
                                                  "A": "0.025"}, False, 150_000_000),
)  # fmt: skip
OPERATOR = ("capillary-ops", "Capillary Platform Operations")
AUDITOR = ("capillary-audit", "Capillary Audit Office")
#: Share of the suppliers at each tier; their typical monthly sales to one buyer (yuan);
#: their standalone borrowing rate.
TIERS = {1: (0.07, 3_000_000, "0.055"), 2: (0.18, 600_000, "0.075"),
         3: (0.30, 150_000, "0.095"), 4: (0.45, 40_000, "0.120")}  # fmt: skip
#: A firm whose cash need is at least this offers what it receives to the market (a
#: standing request at its standalone rate).
NEEDS_CASH = 0.5
SECOND_BUYER = 0.08  # suppliers that also sell to a second buyer (possibly another chain)
WORDS = ("Precision", "Hengtong", "Xinyuan", "Jinlong", "Tianli", "Ruifeng", "Yongsheng",
         "Huayu", "Dongfang", "Kaida", "Mingtai", "Baosheng", "Zhongxin", "Fuda")  # fmt: skip
PLACES = ("Dongguan", "Foshan", "Ningbo", "Wuxi", "Kunshan", "Taizhou", "Wenzhou", "Hefei",
          "Changzhou", "Xiamen", "Jinhua", "Zhuhai")  # fmt: skip
TRADES = {
    "autos": ("Castings", "Brake Parts", "Wiring", "Fasteners", "Rubber", "Stampings"),
    "electronics": ("PCB", "Connectors", "Plastics", "Components", "Coils", "Packaging"),
    "construction": ("Steel", "Cement", "Glass", "Timber", "Pipes", "Scaffolding"),
}


@dataclass(frozen=True, slots=True)
class Firm:
    code: str
    name: str
    identifier: str  # a valid Unified Social Credit Code
    roles: frozenset[Role]
    tier: int  # 0 a core, 1-4 a supplier's, -1 neither (funders, operator, auditor)
    industry: str | None
    standalone_rate: Decimal  # what it borrows at without the platform
    cash_need: float  # the share of what it receives it turns into cash early (0..1)


@dataclass(frozen=True, slots=True)
class Link:
    """``supplier`` sells to ``buyer`` about ``monthly`` minor units a month, ordered on
    the buyer's ordering day ``day`` of each month (a buyer orders from all its suppliers
    at once)."""

    buyer: str
    supplier: str
    monthly: int
    day: int


@dataclass(frozen=True, slots=True)
class Core:
    code: str
    grade: str
    terms_days: int
    late_payer: bool


@dataclass(frozen=True, slots=True)
class Funder:
    code: str
    spreads: dict[str, Decimal]  # by the core's grade
    recourse: bool
    line: int  # minor units, to each core


@dataclass(frozen=True, slots=True)
class Economy:
    seed: int
    firms: tuple[Firm, ...]
    links: tuple[Link, ...]
    cores: tuple[Core, ...]
    funders: tuple[Funder, ...]
    operator: str
    auditor: str

    def firm(self, code: str) -> Firm:
        return _index(self)[code]

    def suppliers_of(self, buyer: str) -> list[Link]:
        return [link for link in self.links if link.buyer == buyer]


_INDEXES: dict[int, dict[str, Firm]] = {}


def _index(economy: Economy) -> dict[str, Firm]:
    found = _INDEXES.get(id(economy))
    if found is None:
        found = _INDEXES[id(economy)] = {f.code: f for f in economy.firms}
    return found


def identifier(n: int, region: str = "440300") -> str:
    """A valid Unified Social Credit Code, distinct for each ``n``."""
    body = f"91{region}MA{_base31(n, 7)}"
    return body + uscc.calc_check_digit(body)


_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _base31(n: int, width: int) -> str:
    digits = []
    for _ in range(width):
        n, r = divmod(n, 31)
        digits.append(_ALPHABET[r])
    return "".join(reversed(digits))


def build(*, seed: int = 7, orgs: int = 1_000) -> Economy:
    """The economy of ``orgs`` organizations (at least 20) grown from ``seed``."""
    if orgs < 20:
        raise ValueError("An economy needs at least 20 organizations.")
    rnd = random.Random(seed)
    firms: list[Firm] = []
    n = 0

    def uid() -> str:
        nonlocal n
        n += 1
        return identifier(n * 7919 + seed)

    firms.append(Firm(OPERATOR[0], OPERATOR[1], uid(), frozenset({Role.OPERATOR}), -1, None,
                      Decimal("0.04"), 0))  # fmt: skip
    firms.append(Firm(AUDITOR[0], AUDITOR[1], uid(), frozenset({Role.AUDITOR}), -1, None,
                      Decimal("0.04"), 0))  # fmt: skip
    cores = tuple(Core(code, grade, terms, late) for code, _, _, grade, terms, late in CORES)
    for code, name, industry, *_ in CORES:
        firms.append(Firm(code, name, uid(), frozenset({Role.CORE}), 0, industry,
                          Decimal("0.035"), 0))  # fmt: skip
    funders = tuple(Funder(code, {g: Decimal(s) for g, s in spreads.items()}, recourse,
                           line * Y) for code, _, spreads, recourse, line in FUNDERS)  # fmt: skip
    for code, name, *_ in FUNDERS:
        firms.append(Firm(code, name, uid(), frozenset({Role.FUNDER}), -1, None,
                          Decimal("0.03"), 0))  # fmt: skip
    suppliers = orgs - len(firms)
    counts = {t: max(1, round(share * suppliers)) for t, (share, _, _) in TIERS.items()}
    counts[4] = max(1, suppliers - counts[1] - counts[2] - counts[3])
    links: list[Link] = []
    above: list[tuple[str, str]] = [(c[0], c[2]) for c in CORES]  # (code, industry)
    weight_of: dict[str, int] = {c[0]: 3 for c in CORES}
    order_day: dict[str, int] = {}
    for tier in (1, 2, 3, 4):
        _, typical, rate = TIERS[tier]
        level: list[tuple[str, str]] = []
        for i in range(counts[tier]):
            buyers = _pick_buyers(rnd, above, weight_of)
            industry = dict(above)[buyers[0]]
            code = f"t{tier}-{industry[:4]}-{i + 1:04d}"
            trade = rnd.choice(TRADES[industry])
            name = f"{rnd.choice(PLACES)} {rnd.choice(WORDS)} {trade} Co., Ltd."
            size = math.exp(rnd.gauss(0, 0.6))  # its scale against its tier's typical
            standalone = Decimal(rate) + Decimal(round((1 - min(size, 2)) * 150)) / 10_000
            standalone += Decimal(rnd.randint(-50, 50)) / 10_000
            need = min(1.0, max(0.0, rnd.gauss(0.45 + 0.08 * tier, 0.2)))
            firms.append(Firm(code, name, uid(), frozenset({Role.SUPPLIER}), tier, industry,
                              standalone.quantize(Decimal("0.0001")), need))  # fmt: skip
            for buyer in buyers:
                monthly = int(typical * size * rnd.uniform(0.6, 1.4)) // 100 * 100 * Y
                day = order_day.setdefault(buyer, rnd.randint(1, 28))
                links.append(Link(buyer, code, max(monthly, 10_000 * Y), day))
                weight_of[buyer] = weight_of.get(buyer, 1) + 1
            weight_of[code] = 1
            level.append((code, industry))
        _some_need_cash(firms, tier)
        above = level
    return Economy(seed, tuple(firms), tuple(links), cores, funders, OPERATOR[0], AUDITOR[0])


def _some_need_cash(firms: list[Firm], tier: int) -> None:
    """At least a third of a tier's firms turn what they receive into cash early (the most
    pressed of them, if chance left too few): every tier has some demand for finance."""
    at = sorted((i for i, f in enumerate(firms) if f.tier == tier),
                key=lambda i: -firms[i].cash_need)  # fmt: skip
    for i in at[: max(1, len(at) // 3)]:
        if firms[i].cash_need < NEEDS_CASH:
            firms[i] = replace(firms[i], cash_need=NEEDS_CASH)


def _pick_buyers(
    rnd: random.Random, above: list[tuple[str, str]], weight_of: dict[str, int]
) -> list[str]:
    """One buyer from the tier above, by preferential attachment (a buyer with more
    suppliers draws more), and sometimes a second one."""
    codes = [c for c, _ in above]
    weights = [weight_of.get(c, 1) for c in codes]
    first = rnd.choices(codes, weights)[0]
    if len(codes) > 1 and rnd.random() < SECOND_BUYER:
        second = rnd.choices(codes, weights)[0]
        if second != first:
            return [first, second]
    return [first]
