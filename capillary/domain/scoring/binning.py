"""Monotone binning with weight of evidence (WoE).

A numeric feature is cut at quantiles of the training values into fine bins; adjacent bins
are pooled until the bad rate runs one way only (pool-adjacent-violators, in the direction
of the feature's rank correlation with the label), then the smallest bins are merged into a
neighbour until each holds a minimum share and there are at most ``max_bins``. A
categorical feature's categories are ordered by bad rate (so monotone by construction),
rare ones merged into their neighbour in that order. Missing values (empty text) get their
own bin. WoE of a bin is ln(share of goods / share of bads), smoothed by half a count: high
WoE, low risk. Labels: 1 is bad (the event), 0 good."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SMOOTHING = 0.5
MISSING = ""


@dataclass(frozen=True, slots=True)
class Bin:
    label: str  # "[1000, 2500)", "{a, b}", "missing"
    goods: int
    bads: int
    woe: float


@dataclass(frozen=True, slots=True)
class NumericBinning:
    feature: str
    edges: tuple[float, ...]  # inner cut points: bin i holds edges[i-1] <= x < edges[i]
    bins: tuple[Bin, ...]  # one per interval, then the missing bin last
    missing: Bin

    def index(self, text: str) -> int:
        """The bin of a value as written (``len(bins)`` for the missing bin)."""
        if text.strip() == MISSING:
            return len(self.bins)
        x = float(text)
        return sum(1 for e in self.edges if x >= e)

    def woe(self, text: str) -> float:
        i = self.index(text)
        return self.missing.woe if i == len(self.bins) else self.bins[i].woe


@dataclass(frozen=True, slots=True)
class CategoricalBinning:
    feature: str
    groups: tuple[frozenset[str], ...]  # ordered by bad rate, worst last
    bins: tuple[Bin, ...]
    missing: Bin  # also takes a category not seen in training

    def index(self, text: str) -> int:
        for i, group in enumerate(self.groups):
            if text in group:
                return i
        return len(self.bins)

    def woe(self, text: str) -> float:
        i = self.index(text)
        return self.missing.woe if i == len(self.bins) else self.bins[i].woe


Binning = NumericBinning | CategoricalBinning


def is_numeric(values: Sequence[str]) -> bool:
    """Whether every written value of a column reads as a number."""
    seen = False
    for v in values:
        if v.strip() == MISSING:
            continue
        try:
            float(v)
        except ValueError:
            return False
        seen = True
    return seen


def _woe(goods: int, bads: int, all_goods: int, all_bads: int) -> float:
    return math.log(((goods + SMOOTHING) / (all_goods + SMOOTHING))
                    / ((bads + SMOOTHING) / (all_bads + SMOOTHING)))  # fmt: skip


def _rank_direction(xs: Sequence[float], ys: Sequence[int]) -> int:
    """+1 if the bad rate rises with the value, -1 if it falls (by rank correlation; tied
    values share their average rank, so that how ties happen to be ordered says nothing)."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and xs[order[end + 1]] == xs[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2
        start = end + 1
    mean_r = sum(ranks) / len(ranks)
    mean_y = sum(ys) / len(ys)
    cov = sum((r - mean_r) * (y - mean_y) for r, y in zip(ranks, ys, strict=True))
    return 1 if cov >= 0 else -1


def fit_numeric(feature: str, values: Sequence[str], labels: Sequence[int], *,
                max_bins: int = 6, min_share: float = 0.05,
                prebins: int = 20) -> NumericBinning:  # fmt: skip
    pairs = [(float(v), y) for v, y in zip(values, labels, strict=True) if v.strip() != MISSING]
    missing = [y for v, y in zip(values, labels, strict=True) if v.strip() == MISSING]
    all_bads = sum(labels)
    all_goods = len(labels) - all_bads
    pairs.sort()
    xs = [x for x, _ in pairs]
    # Candidate cuts: distinct quantiles of the values.
    cuts: list[float] = []
    for q in range(1, prebins):
        c = xs[min(len(xs) - 1, q * len(xs) // prebins)]
        if c > xs[0] and (not cuts or c > cuts[-1]):
            cuts.append(c)
    # Counts per fine bin: [goods, bads, low edge].
    cells: list[list[float]] = [[0, 0, -math.inf]] + [[0, 0, c] for c in cuts]
    j = 0
    for x, y in pairs:
        while j + 1 < len(cells) and x >= cells[j + 1][2]:
            j += 1
        cells[j][1 if y else 0] += 1
    cells = [c for c in cells if c[0] + c[1] > 0] or [[0, 0, -math.inf]]
    cells[0][2] = -math.inf
    direction = _rank_direction(xs, [y for _, y in pairs]) if pairs else 1

    def rate(c: list[float]) -> float:  # unsmoothed: a merged bin's lies between its parts'
        return c[1] / (c[0] + c[1])

    def merge(i: int) -> None:  # bin i into bin i-1
        cells[i - 1][0] += cells[i][0]
        cells[i - 1][1] += cells[i][1]
        del cells[i]

    changed = True
    while changed:  # pool adjacent violators of the monotone bad rate
        changed = False
        for i in range(1, len(cells)):
            if (rate(cells[i]) - rate(cells[i - 1])) * direction < 0:
                merge(i)
                changed = True
                break
    least = min_share * len(pairs)
    while len(cells) > 1:
        small = min(range(len(cells)), key=lambda i: cells[i][0] + cells[i][1])
        if len(cells) <= max_bins and cells[small][0] + cells[small][1] >= least:
            break
        if small == 0:
            merge(1)
        elif small == len(cells) - 1:
            merge(small)
        else:  # into the neighbour whose bad rate is closest
            left = abs(rate(cells[small]) - rate(cells[small - 1]))
            right = abs(rate(cells[small]) - rate(cells[small + 1]))
            merge(small if left <= right else small + 1)
    edges = tuple(c[2] for c in cells[1:])
    bounds = [-math.inf, *edges, math.inf]
    bins = tuple(
        Bin(f"[{_num(bounds[i])}, {_num(bounds[i + 1])})", int(c[0]), int(c[1]),
            _woe(int(c[0]), int(c[1]), all_goods, all_bads))
        for i, c in enumerate(cells)
    )  # fmt: skip
    miss_bads = sum(missing)
    miss = Bin("missing", len(missing) - miss_bads, miss_bads,
               _woe(len(missing) - miss_bads, miss_bads, all_goods, all_bads))  # fmt: skip
    return NumericBinning(feature, edges, bins, miss)


@dataclass(slots=True)
class _Group:
    members: set[str]
    goods: int
    bads: int

    @property
    def size(self) -> int:
        return self.goods + self.bads

    @property
    def rate(self) -> float:
        return (self.bads + SMOOTHING) / (self.size + 2 * SMOOTHING)


def fit_categorical(feature: str, values: Sequence[str], labels: Sequence[int], *,
                    max_bins: int = 6, min_share: float = 0.05) -> CategoricalBinning:  # fmt: skip
    found: dict[str, _Group] = {}
    for v, y in zip(values, labels, strict=True):
        g = found.setdefault(v, _Group({v}, 0, 0))
        if y:
            g.bads += 1
        else:
            g.goods += 1
    all_bads = sum(labels)
    all_goods = len(labels) - all_bads
    groups = sorted(found.values(), key=lambda g: g.rate)
    least = min_share * len(values)

    def merge(i: int, into: int) -> None:
        groups[into].members |= groups[i].members
        groups[into].goods += groups[i].goods
        groups[into].bads += groups[i].bads
        del groups[i]

    while len(groups) > 1:
        small = min(range(len(groups)), key=lambda i: groups[i].size)
        if len(groups) <= max_bins and groups[small].size >= least:
            break
        if small == 0:
            merge(0, 1)
        elif small == len(groups) - 1:
            merge(small, small - 1)
        else:
            left = abs(groups[small].rate - groups[small - 1].rate)
            right = abs(groups[small].rate - groups[small + 1].rate)
            merge(small, small - 1 if left <= right else small + 1)
        groups.sort(key=lambda g: g.rate)
    bins = tuple(Bin("{" + ", ".join(sorted(g.members)) + "}", g.goods, g.bads,
                     _woe(g.goods, g.bads, all_goods, all_bads)) for g in groups)  # fmt: skip
    return CategoricalBinning(feature, tuple(frozenset(g.members) for g in groups), bins,
                              Bin("missing", 0, 0, 0.0))  # fmt: skip


def fit(feature: str, values: Sequence[str], labels: Sequence[int], *, max_bins: int = 6,
        min_share: float = 0.05) -> Binning:  # fmt: skip
    if is_numeric(values):
        return fit_numeric(feature, values, labels, max_bins=max_bins, min_share=min_share)
    return fit_categorical(feature, values, labels, max_bins=max_bins, min_share=min_share)


def information_value(b: Binning) -> float:
    """IV = Σ (share of goods − share of bads) × WoE over the bins."""
    every = [*b.bins, b.missing]
    goods = sum(x.goods for x in every) or 1
    bads = sum(x.bads for x in every) or 1
    return sum((x.goods / goods - x.bads / bads) * x.woe for x in every)


def _num(x: float) -> str:
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return f"{x:g}"
