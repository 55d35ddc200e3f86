"""The marketplace as every participant may see it, in aggregate (no holder, no funder
named): supply against demand by tier, and the market's volume by month — what was asked,
what funders quoted, what filled, and the rate it filled at."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from capillary.charts import bars
from capillary.domain.market_view import Summary
from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, page, services, signed_in

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/market")
def market(request: Request) -> HTMLResponse:
    console = signed_in(request)
    shown = page(request, console)
    _ = shown.gettext
    views = services(request).market.views(principal=console.principal,
                                            dimensions=("tier", "month"))  # fmt: skip
    by_tier = [s for s in views["tier"] if s.currency == "CNY"]
    by_month = [s for s in views["month"] if s.currency == "CNY"]

    def volumes(title: str, rows: list[Summary], labels: list[str]) -> str:
        return bars(title, labels, [(_("asked"), [s.requested / 100 for s in rows]),
                                    (_("quoted"), [s.quoted / 100 for s in rows]),
                                    (_("filled"), [s.filled / 100 for s in rows])])  # fmt: skip

    supply = volumes(_("Supply and demand by the seller's tier (CNY)"), by_tier,
                     [s.group for s in by_tier])  # fmt: skip
    monthly = volumes(_("The market's volume by month (CNY)"), by_month,
                      [s.group for s in by_month])  # fmt: skip
    return render(request, "market.html", shown, by_tier=by_tier, by_month=by_month,
                  supply=supply if by_tier else "",
                  monthly=monthly if by_month else "")  # fmt: skip
