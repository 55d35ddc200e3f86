"""``capillary risk``: stress tests through the platform's network of obligations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capillary.charts import bars
from capillary.domain.contagion import parse_shock
from capillary.domain.exposure import Thresholds
from capillary.entrypoints.cli.context import Key, new_key, platform, principal
from capillary.entrypoints.cli.render import console, money

app = typer.Typer(help="Risk through the network: stress tests on the certificate graph.",
                  no_args_is_help=True)  # fmt: skip


def _money(minor: int) -> str:
    return money(minor, 2)  # CNY


@app.command("stress")
def stress_(
    default: Annotated[list[str], typer.Option(
        "--default", help="An obligor that defaults: ORG (pays nothing) or ORG=0.4 (pays 40% "
        "of what it owes). Repeat for several.")],
    currency: Annotated[str, typer.Option(help="The certificates' currency.")] = "CNY",
    top: Annotated[int, typer.Option(min=1, max=1000, help="Organizations listed.")] = 15,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the whole "
                                                   "result as JSON here.")] = None,
    chart: Annotated[Path | None, typer.Option(help="Also draw the loss by group, with and "
                                               "without recourse, as an SVG file here.")] = None,
) -> None:  # fmt: skip
    """Default the obligors named on today's outstanding certificates and trace the loss:
    who holds what of their paper, what falls back on sellers through recourse, which
    sellers cannot meet it and default in turn (an Eisenberg-Noe clearing), with and
    without recourse. Amounts in major units of the currency."""
    shocks = dict(parse_shock(d) for d in default)
    report = platform().risk.stress(shocks, principal=principal(), currency=currency)
    on, off = report.with_recourse, report.without_recourse
    console.print(f"Defaulted: {', '.join(f'{escape(o)} pays {s:.0%}' for o, s in shocks.items())}"
                  f". Loss with recourse {_money(on.total_loss)} {currency} "
                  f"({len(on.clearing.defaulted)} organizations default, "
                  f"{on.rounds} clearings); without recourse {_money(off.total_loss)} "
                  f"{currency}.")  # fmt: skip
    groups = Table(title=f"Loss by group ({currency})")
    for column in ("group", "with recourse", "without recourse"):
        groups.add_column(column, justify="left" if column == "group" else "right")
    with_g, without_g = report.by_group(on), report.by_group(off)
    for g in sorted(set(with_g) | set(without_g)):
        groups.add_row(g, _money(with_g.get(g, 0)), _money(without_g.get(g, 0)))
    console.print(groups)
    orgs = Table(title=f"The {top} largest losses with recourse ({currency})")
    for column in ("organization", "group", "loss", "recourse paid", "defaulted",
                   "loss without recourse"):  # fmt: skip
        orgs.add_column(column, justify="left" if column in ("organization", "group")
                        else "right")  # fmt: skip
    for org, loss in sorted(on.loss.items(), key=lambda kv: -kv[1])[:top]:
        orgs.add_row(escape(org), report.group.get(org, "other"), _money(loss),
                     _money(on.recourse_paid.get(org, 0)),
                     "yes" if org in on.clearing.defaulted else "",
                     _money(off.loss.get(org, 0)))  # fmt: skip
    console.print(orgs)
    if chart is not None:
        names = sorted(set(with_g) | set(without_g))
        series = [
            ("with recourse", [with_g.get(g, 0) / 100 for g in names]),
            ("without recourse", [without_g.get(g, 0) / 100 for g in names]),
        ]
        title = f"Loss by group when {', '.join(shocks)} defaults ({currency})"
        chart.write_text(bars(title, names, series))
        console.print(f"Drawn: {escape(str(chart))}")
    if json_out is not None:
        json_out.write_text(json.dumps({
            "shocks": shocks, "currency": currency,
            "with_recourse": {"loss": on.loss, "recourse_paid": on.recourse_paid,
                              "defaulted": sorted(on.clearing.defaulted),
                              "by_group": with_g, "total": on.total_loss},
            "without_recourse": {"loss": off.loss, "defaulted": sorted(off.clearing.defaulted),
                                 "by_group": without_g, "total": off.total_loss},
            "amounts": "minor units",
        }, indent=2, sort_keys=True))  # fmt: skip
        console.print(f"Written: {escape(str(json_out))}")


@app.command("exposure")
def exposure_(
    currency: Annotated[str, typer.Option(help="The certificates' currency.")] = "CNY",
    obligor_share: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Alert when one obligor is more than this share of all "
        "outstanding (default: CAPILLARY_ALERT_OBLIGOR_SHARE, 0.40).")] = None,
    funder_share: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Alert when one obligor is more than this share of what a "
        "funder holds (default: CAPILLARY_ALERT_FUNDER_SHARE, 0.60).")] = None,
) -> None:  # fmt: skip
    """Where the credit risk sits: outstanding certificates by obligor, funder, tier and
    industry, the maturity ladder, what is overdue, and concentration alerts."""
    p = platform()
    limits = Thresholds(
        p.risk.thresholds.obligor_share if obligor_share is None else obligor_share,
        p.risk.thresholds.funder_obligor_share if funder_share is None else funder_share,
    )  # fmt: skip
    found = p.risk.exposure(principal=principal(), currency=currency,
                                     thresholds=limits)  # fmt: skip
    console.print(f"Outstanding: {_money(found.total)} {currency}; overdue "
                  f"{_money(sum(found.overdue.values()))}.")  # fmt: skip
    for title, rows in (("obligor", found.by_obligor), ("funder", found.by_funder),
                        ("tier", found.by_tier), ("industry", found.by_industry),
                        ("month of maturity", found.ladder)):  # fmt: skip
        table = Table(title=f"By {title} ({currency})")
        table.add_column(title)
        table.add_column("outstanding", justify="right")
        table.add_column("share", justify="right")
        ordered = rows.items() if title.startswith("month") else sorted(
            rows.items(), key=lambda kv: -kv[1])  # fmt: skip
        for name, amount in ordered:
            table.add_row(escape(name), _money(amount),
                          f"{amount / found.total:.1%}" if found.total else "")  # fmt: skip
        console.print(table)
    for a in found.alerts:
        console.print(f"[yellow]alert[/yellow] {a.kind}: {escape(a.subject)} is {a.share:.1%} "
                      f"(threshold {a.threshold:.0%}), {_money(a.amount)} {currency}.")  # fmt: skip
    if not found.alerts:
        console.print("No concentration beyond the thresholds.")


@app.command("monitor")
def monitor(
    currency: Annotated[str, typer.Option(help="The certificates' currency.")] = "CNY",
    key: Key = None,
) -> None:
    """As the operator: raise today's risk alerts as events (the worker does it daily):
    concentrations beyond the thresholds, and obligors with certificates overdue."""
    raised = platform().risk.monitor(principal=principal(), key=new_key(key), currency=currency)
    console.print(f"{raised} new alert{'s' if raised != 1 else ''} raised as events "
                  "(risk.concentration, risk.overdue); at most one of each a day.")  # fmt: skip
