"""The demo economy's report as one HTML page that works offline: its charts are inline SVG
drawn here, with no script, style sheet or font from anywhere else."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from capillary.charts import bars

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Capillary demo economy: the report</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
       color: #1b1b1b; padding: 0 1rem; }
h1, h2 { line-height: 1.2; } table { border-collapse: collapse; margin: 1rem 0; }
td, th { border-bottom: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.ok { color: #1d6b32; } .bad { color: #a11; } figure { margin: 1.5rem 0; }
ul.tree { font-family: ui-monospace, monospace; font-size: 13px; }
</style></head><body>
<h1>Capillary: the demo economy</h1>
<p>{{ e.organizations }} organizations ({{ e.cores|join(", ") }} and their suppliers at four
tiers, {{ e.funders|length }} funders), {{ e.days }} days from {{ e.start }}, seed
{{ e.seed }}; simulated through the platform's services in {{ e.seconds }} s. Amounts in
CNY.</p>
<h2>What moved</h2>
<table><tr><th></th><th>count</th><th>CNY</th></tr>
{% for name, v in volume %}<tr><td>{{ name }}</td><td>{{ "{:,}".format(v.count) }}</td>
<td>{{ money(v.face) }}</td></tr>{% endfor %}</table>
<figure>{{ charts.month|safe }}<figcaption>Issued and financed by month.</figcaption></figure>
<h2>Reach: finance down the tiers</h2>
<table><tr><th>tier</th><th>suppliers</th><th>received certificates</th><th>turned them into
cash</th><th>financed</th><th>rate</th><th>alone they would pay</th><th>saved</th>
<th>days from invoice to cash</th><th>holding to maturity</th></tr>
{% for t in r.reach %}<tr><td>tier {{ t.tier }}</td><td>{{ t.suppliers }}</td>
<td>{{ t.received }}</td><td>{{ t.cashed }}</td><td>{{ money(t.financed_face) }}</td>
<td>{{ pct(t.rate) }}</td><td>{{ pct(t.standalone_rate) }}</td><td>{{ money(t.saved) }}</td>
<td>{{ days(t.median_days_invoice_to_cash) }}</td>
<td>{{ days(t.median_days_invoice_to_maturity) }}</td></tr>{% endfor %}</table>
<p>Days are medians over the financings at each tier: from the supplier's invoice to the cash
it got for the certificate that paid it, and from the invoice to the certificate's maturity
(what it would wait holding it).</p>
<figure>{{ charts.reach|safe }}<figcaption>Suppliers at each tier, those that received
certificates, and those that turned them into cash.</figcaption></figure>
<figure>{{ charts.rates|safe }}<figcaption>The rate they financed at, against what they
would pay on their own credit.</figcaption></figure>
<figure>{{ charts.days|safe }}<figcaption>Median days from a supplier's invoice to its cash,
against holding the certificate that paid it to maturity.</figcaption></figure>
<h2>Supply and demand in the market</h2>
<figure>{{ charts.market|safe }}<figcaption>Requested, quoted (by funders and the cores'
early-payment offers) and filled, by tier.</figcaption></figure>
<h2>Overdue and recourse</h2>
<p>{{ r.overdue.certificates }} certificates fell overdue ({{ r.overdue.late_fundings }}
late fundings by the late payer), settled later with {{ money(r.overdue.penalty_interest_paid) }}
penalty interest; {{ r.overdue.recourse_claims }} recourse claims opened against sellers that
had sold with recourse ({{ money(r.overdue.recourse_amount) }}),
{{ r.overdue.recourse_collected }} collected ({{ money(r.overdue.recourse_collected_amount) }}):
the seller repaid the funder and took the fragment back.</p>
<h2>Checks</h2>
<ul>{% for name, ok in checks %}<li class="{{ 'ok' if ok else 'bad' }}">{{ name }}:
{{ 'yes' if ok else 'NO' }}</li>{% endfor %}</ul>
<h2>One certificate down the tiers</h2>
<ul class="tree">{% for f in r.sample_certificate %}<li style="margin-left:{{ f.depth * 1.5
}}rem">#{{ f.fragment }} {{ f.holder }}{% if f.tier is not none and f.tier >= 0 %} (tier
{{ f.tier }}){% endif %}: {{ money(f.amount) }}, {{ f.status }}</li>{% endfor %}</ul>
</body></html>
"""


def render(report: dict[str, Any]) -> str:
    """The report's page."""
    env = Environment(autoescape=True)
    months = report["monthly"]
    labels = [m["month"] for m in months]
    charts = {
        "month": bars("Issued and financed by month (CNY)", labels,
                      [("issued", [m["issued"] / 100 for m in months]),
                       ("financed", [m["financed"] / 100 for m in months])]),
        "reach": bars("Reach by tier", [f"tier {t['tier']}" for t in report["reach"]],
                      [("suppliers", [t["suppliers"] for t in report["reach"]]),
                       ("received", [t["received"] for t in report["reach"]]),
                       ("turned into cash", [t["cashed"] for t in report["reach"]])]),
        "rates": bars("Rate by tier against standalone (%)",
                      [f"tier {t['tier']}" for t in report["reach"]],
                      [("on the platform", [float(t["rate"] or 0) * 100 for t in report["reach"]]),
                       ("alone", [float(t["standalone_rate"] or 0) * 100
                                  for t in report["reach"]])], unit="%"),
        "days": bars("Days from invoice to cash by tier",
                     [f"tier {t['tier']}" for t in report["reach"]],
                     [("to cash on the platform",
                       [t["median_days_invoice_to_cash"] or 0 for t in report["reach"]]),
                      ("holding to maturity",
                       [t["median_days_invoice_to_maturity"] or 0 for t in report["reach"]])],
                     unit=" d"),
        "market": bars("Supply and demand by tier (CNY)",
                       [s["group"] for s in report["market"]["by_tier"]],
                       [("requested", [s["requested"] / 100 for s in report["market"]["by_tier"]]),
                        ("quoted", [s["quoted"] / 100 for s in report["market"]["by_tier"]]),
                        ("filled", [s["filled"] / 100 for s in report["market"]["by_tier"]])]),
    }  # fmt: skip
    v = report["volume"]
    volume = [("issued", v["issued"]), ("passed down as payment", v["transferred"]),
              ("financed", v["financed"]), ("settled", v["settled"])]  # fmt: skip
    c = report["checks"]
    checks = [("the ledger's hash chain verifies", c["ledger_chain_intact"]),
              ("every balance equals its postings", c["balances_equal_postings"]),
              ("cash, certificates and credit reconcile", c["books_reconcile"])]  # fmt: skip
    return env.from_string(TEMPLATE).render(
        r=report, e=report["economy"], charts=charts, volume=volume, checks=checks,
        money=lambda minor: f"{minor / 100:,.2f}",
        pct=lambda rate: "—" if rate is None else f"{float(rate) * 100:.2f}%",
        days=lambda median: "—" if median is None else f"{median:g}",
    )  # fmt: skip
