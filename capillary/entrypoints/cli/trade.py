"""``capillary trade …``: orders, deliveries, invoices, the match, payables."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from capillary.domain.errors import ValidationError
from capillary.domain.imports import MAX_LINE_NO, quantity
from capillary.domain.inputs import parse_count
from capillary.domain.units import currency, format_minor
from capillary.entrypoints.cli.context import (
    Key,
    new_key,
    platform,
    principal,
    strict_count,
    strict_day,
)
from capillary.entrypoints.cli.importing import Encoding, RefusedTo, kind_of, run_import
from capillary.entrypoints.cli.render import console, when
from capillary.services.imports import Kind
from capillary.services.trade import invoice_key, order_key

app = typer.Typer(help="Orders, deliveries, invoices, the match, payables.", no_args_is_help=True)


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="orders, deliveries or invoices")],
    file: Annotated[Path, typer.Argument(help="A .csv or .json file.")],
    key: Key = None,
    encoding: Encoding = None,
    refused_to: RefusedTo = None,
) -> None:
    """Create documents from a CSV or JSON file; bad records are named, good ones go in, and
    importing the same file again changes nothing; exit 1 if all were refused. Invoices are
    matched on arrival."""
    chosen = kind_of(kind, (Kind.ORDERS, Kind.DELIVERIES, Kind.INVOICES))
    run_import(chosen, file, key=key, encoding=encoding, refused_to=refused_to)


@app.command("list")
def list_(
    what: Annotated[str, typer.Argument(help="orders, deliveries, invoices or payables")],
    org: Annotated[str | None, typer.Option(help="Only this organization's.")] = None,
    limit: Annotated[
        int, typer.Option(help="How many, newest first.", parser=strict_count("--limit"))
    ] = 50,
) -> None:
    """List orders, deliveries, invoices or payables, newest first."""
    trade = platform().trade
    table = Table(show_edge=False)
    if what == "orders":
        for column in ("order", "supplier", "date", "lines", "amount", "status", "v"):
            table.add_column(column)
        for o in trade.orders(principal=principal(), org=org, limit=limit):
            e = currency(o.currency).exponent
            table.add_row(order_key(o.buyer, o.number), o.supplier, str(o.order_date),
                          str(len(o.lines)), f"{format_minor(o.amount(e), e)} {o.currency}",
                          o.status.value, str(o.version))  # fmt: skip
    elif what == "deliveries":
        for column in ("delivery", "buyer", "order", "delivered", "lines", "status"):
            table.add_column(column)
        for d in trade.deliveries(principal=principal(), org=org, limit=limit):
            table.add_row(f"{d.supplier}/{d.number}", d.buyer, d.order_number,
                          str(d.delivered_on), str(len(d.lines)), d.status.value)  # fmt: skip
    elif what == "invoices":
        for column in ("id", "invoice", "buyer", "order", "total", "status"):
            table.add_column(column)
        for v in trade.invoices(principal=principal(), org=org, limit=limit):
            e = currency(v.currency).exponent
            table.add_row(str(v.id), invoice_key(v.seller, v.code, v.number), v.buyer,
                          v.order_number, f"{format_minor(v.total, e)} {v.currency}",
                          v.status.value)  # fmt: skip
    elif what == "payables":
        for column in ("id", "buyer", "supplier", "amount", "open", "due", "status", "override"):
            table.add_column(column)
        for p in trade.payables(principal=principal(), org=org, limit=limit):
            e = currency(p.currency).exponent
            table.add_row(str(p.id), p.buyer, p.supplier, format_minor(p.amount, e),
                          format_minor(p.open_amount, e), str(p.due_date), p.status.value,
                          p.override_reason or "")  # fmt: skip
    else:
        raise ValidationError(f"List orders, deliveries, invoices or payables; got {what!r}.")
    console.print(table)


@app.command()
def show(
    what: Annotated[str, typer.Argument(help="order, delivery or invoice")],
    party: Annotated[
        str, typer.Argument(help="The buyer (order), supplier (delivery) or seller (invoice).")
    ],
    number: Annotated[str, typer.Argument(help="The document's number.")],
    code: Annotated[str | None, typer.Option(help="An older invoice's code.")] = None,
) -> None:
    """One document with its lines, match result and history."""
    trade = platform().trade
    if what == "order":
        o = trade.order(party, number, principal=principal())
        e = currency(o.currency).exponent
        console.print(f"[bold]Order {order_key(o.buyer, o.number)}[/bold] to {o.supplier}, "
                      f"{o.order_date}, {o.status.value}, version {o.version}")  # fmt: skip
        for ln in o.lines:
            console.print(f"  {ln.line_no}. {ln.item} {ln.quantity} {ln.uom} × {ln.unit_price} "
                          f"{o.currency}, tax {ln.tax_rate}")  # fmt: skip
        console.print(f"  amount before tax {format_minor(o.amount(e), e)} {o.currency}")
        key = ("order", order_key(party, number))
    elif what == "delivery":
        d = trade.delivery(party, number, principal=principal())
        console.print(f"[bold]Delivery {party}/{number}[/bold] for order {d.order_number}, "
                      f"{d.delivered_on}, {d.status.value}")  # fmt: skip
        for dl in d.lines:
            console.print(f"  line {dl.order_line_no}: {dl.quantity} delivered, "
                          f"{dl.accepted} accepted, {dl.rejected} rejected")  # fmt: skip
        key = ("delivery", f"{party}/{number}")
    elif what == "invoice":
        v = trade.invoice(party, code, number, principal=principal())
        e = currency(v.currency).exponent
        console.print(f"[bold]Invoice {invoice_key(v.seller, v.code, v.number)}[/bold] to "
                      f"{v.buyer} for order {v.order_number}, {v.issue_date}: "
                      f"{format_minor(v.amount, e)} + tax {format_minor(v.tax, e)} = "
                      f"{format_minor(v.total, e)} {v.currency}; {v.status.value}")  # fmt: skip
        for x in trade.invoice_exceptions(v.id, principal=principal()):
            console.print(f"  [red]{x['code']}[/red] {x['message']}")
        key = ("invoice", invoice_key(v.seller, v.code, v.number))
    else:
        raise ValidationError(f"Show an order, a delivery or an invoice; got {what!r}.")
    for entry in trade.audit(*key, principal=principal()):
        console.print(f"  [dim]{when(entry['at'])}[/dim] {entry['action']} by {entry['actor']}"
                      f"{' ' + str(entry['detail']) if entry['detail'] else ''}")  # fmt: skip


@app.command()
def accept(
    supplier: Annotated[str, typer.Argument(help="The supplier that delivered.")],
    number: Annotated[str, typer.Argument(help="The delivery's number.")],
    line: Annotated[
        list[str] | None, typer.Option(help="LINE=QTY accepted; others in full.")
    ] = None,
    key: Key = None,
) -> None:
    """The buyer accepts a delivery (what is not accepted is rejected)."""
    accepted = {}
    for spec in line or []:
        no, sep, qty = spec.partition("=")
        if not sep:
            raise ValidationError(f"Write --line LINE=QTY (2=480); got {spec!r}.")
        accepted[parse_count(no, what="A line number", low=1, high=MAX_LINE_NO)] = quantity(
            qty, "accepted quantity"
        )
    d = platform().trade.accept_delivery(
        supplier, number, accepted=accepted, principal=principal(), key=new_key(key)
    )
    console.print(f"Delivery {supplier}/{number} accepted: " + ", ".join(
        f"line {x.order_line_no} {x.accepted} of {x.quantity}" for x in d.lines))  # fmt: skip


@app.command()
def match(key: Key = None) -> None:
    """As a buyer: match again every invoice of yours not yet confirmed (after acceptances,
    say)."""
    results = platform().trade.match(principal=principal(), key=new_key(key))
    matched = sum(1 for r in results.values() if r.matched)
    console.print(f"{len(results)} invoice(s) matched again: {matched} matched, "
                  f"{len(results) - matched} with exceptions.")  # fmt: skip


@app.command()
def confirm(
    seller: Annotated[str, typer.Argument(help="The supplier that invoiced.")],
    number: Annotated[str, typer.Argument(help="The invoice number.")],
    due: Annotated[date, typer.Option(help="Due date, YYYY-MM-DD.", parser=strict_day("--due"))],
    code: Annotated[str | None, typer.Option(help="An older invoice's code.")] = None,
    override: Annotated[
        str | None, typer.Option(help="Reason to confirm despite exceptions.")
    ] = None,
    key: Key = None,
) -> None:
    """The buyer confirms an invoice into a payable."""
    due_date = due
    p = platform().trade.confirm_invoice(
        seller,
        code,
        number,
        due_date=due_date,
        override_reason=override,
        principal=principal(),
        key=new_key(key),
    )
    e = currency(p.currency).exponent
    overridden = f"; exceptions overridden: {p.override_reason}" if p.override_reason else ""
    console.print(
        f"Payable {p.id}: {p.buyer} owes {p.supplier} {format_minor(p.amount, e)} "
        f"{p.currency}, due {p.due_date}{overridden}."
    )


@app.command()
def cancel(
    buyer: Annotated[str, typer.Argument(help="The buyer that ordered.")],
    number: Annotated[str, typer.Argument(help="The order's number.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the order's history).")],
    key: Key = None,
) -> None:
    """Cancel an order (its history is kept)."""
    o = platform().trade.cancel_order(
        buyer, number, reason=reason, principal=principal(), key=new_key(key)
    )
    console.print(f"Order {order_key(buyer, number)} cancelled (version {o.version}).")


@app.command()
def history(
    buyer: Annotated[str, typer.Argument(help="The buyer that ordered.")],
    number: Annotated[str, typer.Argument(help="The order's number.")],
) -> None:
    """Every version of an order."""
    for v in platform().trade.order_history(buyer, number, principal=principal()):
        why = f"; {v['reason']}" if v["reason"] else ""
        console.print(
            f"version {v['version']} by {v['actor']} at {when(v['at'])}: {v['order']['status']}, "
            f"{len(v['order']['lines'])} line(s){why}"
        )
