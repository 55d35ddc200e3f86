"""A request's book as one execution saw it, kept so the execution can be replayed
(DESIGN.md §6, auditability): the request, every source that competed for it (quotes by hand
and by standing rules, the obligor's early-payment offer) and what remained of each pool
they draw on. Best execution is a pure function of this, so replaying a recorded book must
give the recorded fills; a difference means the record or the rule changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from capillary.domain.market import Fill, Request, Source, SourceKind, best_execution


@dataclass(frozen=True, slots=True)
class Book:
    request: Request
    sources: tuple[Source, ...]
    pools: dict[str, int]
    min_fill: int

    def execute(self) -> list[Fill]:
        fills, _ = best_execution(self.request, self.sources, self.pools, min_fill=self.min_fill)
        return fills


def book_json(book: Book) -> str:
    r = book.request
    sources = [
        [s.id, s.kind.value, s.funder, str(s.rate), s.amount, s.recourse, s.posted_at,
         list(s.pools)]
        for s in book.sources
    ]  # fmt: skip
    request = [r.id, r.holder, r.amount, str(r.max_rate), r.recourse, r.posted_at]
    data = {"request": request, "sources": sources, "pools": book.pools,
            "min_fill": book.min_fill}  # fmt: skip
    return json.dumps(data, sort_keys=True)


def book_of(text: str) -> Book:
    data = json.loads(text)
    i, holder, amount, rate, recourse, posted = data["request"]
    sources = tuple(
        Source(s[0], SourceKind(s[1]), s[2], Decimal(s[3]), s[4], s[5], s[6], tuple(s[7]))
        for s in data["sources"]
    )
    pools = {str(k): int(v) for k, v in data["pools"].items()}
    return Book(Request(i, holder, amount, Decimal(rate), recourse, posted), sources, pools,
                int(data["min_fill"]))  # fmt: skip


def fills_json(fills: Sequence[Fill]) -> str:
    return json.dumps([_fill(f) for f in fills])


def fills_of(text: str) -> list[Fill]:
    return [Fill(f[0], f[1], SourceKind(f[2]), f[3], f[4], Decimal(f[5])) for f in json.loads(text)]


def _fill(f: Fill) -> list[Any]:
    return [f.request_id, f.source_id, f.kind.value, f.funder, f.amount, str(f.rate)]
