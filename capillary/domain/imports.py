"""Turning imported records into documents, with every bad row named.

A *record* is one row of a CSV file (its line number, its columns) or one object of a JSON
file (its position, its fields, and for documents with lines a ``lines`` list). A document
with lines spans several CSV rows sharing its key (an order's buyer and number, say); the
header columns must agree on all of them. Errors are data, not exceptions: each says the
row, the field and the reason, and a document with any bad row is left out whole.

Columns, by kind (amounts in major units, ``1130.00``; dates ISO, ``2026-11-26``):

- organizations: code, name, id_scheme, id_value, roles (``core|supplier``),
  tolerance_percent, tolerance_absolute (minor units)
- relationships: buyer, supplier
- orders: buyer, supplier, number, currency, order_date, expected_date; per line: line_no,
  item, description, quantity, uom, unit_price, tax_rate
- deliveries: supplier, buyer, number, order_number, delivered_on; per line: order_line_no,
  quantity, accepted, rejected (both empty: awaiting the buyer's acceptance)
- invoices: seller, buyer, code, number, order_number, currency, issue_date, amount, tax,
  total; per line: line_no, order_line_no, quantity, unit_price, line_amount, tax_rate,
  line_tax
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

from capillary.domain.errors import CapillaryError, InvalidQuantity, OutOfRange, ValidationError
from capillary.domain.inputs import parse_count, parse_day
from capillary.domain.parties import (
    Organization,
    Tolerance,
    check_code,
    normalize_identifier,
    parse_percent,
    parse_roles,
)
from capillary.domain.trade import (
    Delivery,
    DeliveryLine,
    Invoice,
    InvoiceLine,
    OrderLine,
    PurchaseOrder,
    decimal,
    tax_rate,
)
from capillary.domain.units import MAX_AMOUNT, currency, parse_major

T = TypeVar("T")
Record = tuple[int, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    reason: str
    code: str


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    document: T
    key: str
    row: int  # the first row it came from


class FieldError(Exception):
    def __init__(self, field: str, error: CapillaryError | str) -> None:
        super().__init__(str(error))
        self.field = field
        self.reason = error.message if isinstance(error, CapillaryError) else error
        self.code = error.code if isinstance(error, CapillaryError) else "invalid_field"


class Fields:
    """Typed reads of one record's fields; a bad one raises :class:`FieldError` naming it."""

    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def _raw(self, name: str) -> Any:
        value = self.data.get(name)
        return value.strip() if isinstance(value, str) else value

    def _guard(self, name: str, convert: Callable[[Any], T], raw: Any) -> T:
        try:
            return convert(raw)
        except CapillaryError as exc:
            raise FieldError(self.prefix + name, exc) from None
        except (ValueError, ArithmeticError, TypeError):
            raise FieldError(self.prefix + name, f"{raw!r} is not a valid {name}.") from None

    def text(self, name: str) -> str:
        raw = self._raw(name)
        if raw in (None, ""):
            raise FieldError(self.prefix + name, "is required")
        return str(raw)

    def optional(self, name: str) -> str | None:
        raw = self._raw(name)
        return None if raw in (None, "") else str(raw)

    def integer(self, name: str) -> int:
        raw = self.text(name)
        return self._guard(name, lambda v: parse_count(v, what=name, high=MAX_LINE_NO), raw)

    def day(self, name: str) -> date:
        return self._guard(name, lambda v: parse_day(v, what=name), self.text(name))

    def optional_day(self, name: str) -> date | None:
        raw = self.optional(name)
        return None if raw is None else self._guard(name, lambda v: parse_day(v, what=name), raw)

    def number(self, name: str, *, positive: bool = False) -> Decimal:
        raw = self.text(name)
        return self._guard(name, lambda v: _number(v, name, positive), raw)

    def optional_number(self, name: str) -> Decimal | None:
        raw = self.optional(name)
        return None if raw is None else self._guard(name, lambda v: _number(v, name, False), raw)

    def rate(self, name: str) -> Decimal:
        return self._guard(name, tax_rate, self.text(name))

    def money(self, name: str, exponent: int) -> int:
        return self._guard(name, lambda v: parse_major(str(v), exponent), self.text(name))

    def currency(self, name: str) -> str:
        return self._guard(name, lambda v: currency(str(v)).code, self.text(name))


#: The largest line number a document may carry.
MAX_LINE_NO = 100_000
#: Quantities and prices: at most this many digits before the decimal point.
MAX_WHOLE_DIGITS = 15
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def quantity(value: object, name: str) -> Decimal:
    """A quantity a person or a file wrote (see :func:`_number`)."""
    return _number(value, name, False)


def _number(value: object, name: str, positive: bool) -> Decimal:
    """A quantity or a price as written in a file: plain ASCII digits with an optional
    decimal point (no signs, exponents, separators or NaN), of a size trade documents have."""
    text = str(value).strip()
    if not _NUMBER.fullmatch(text):
        refusal = (
            InvalidQuantity
            if "quantity" in name or name in ("accepted", "rejected")
            else ValidationError
        )
        raise refusal(f"{name} {text!r} is not a number written in plain digits (12.5).")
    if len(text.split(".")[0].lstrip("0")) > MAX_WHOLE_DIGITS:
        raise OutOfRange(f"{name} {text} is beyond {MAX_WHOLE_DIGITS} digits.")
    return decimal(text, what=name, positive=positive)


def _one(
    records: Sequence[Record], build: Callable[[Fields], tuple[str, T]]
) -> tuple[list[Parsed[T]], list[RowError]]:
    """Records that are one document each."""
    parsed: list[Parsed[T]] = []
    errors: list[RowError] = []
    for row, data in records:
        try:
            key, doc = build(Fields(data))
        except FieldError as exc:
            errors.append(RowError(row, exc.field, exc.reason, exc.code))
            continue
        except CapillaryError as exc:
            errors.append(RowError(row, "-", exc.message, exc.code))
            continue
        parsed.append(Parsed(doc, key, row))
    return parsed, errors


def parse_organizations(
    records: Sequence[Record],
) -> tuple[list[Parsed[Organization]], list[RowError]]:
    def build(f: Fields) -> tuple[str, Organization]:
        code = f._guard("code", check_code, f.text("code"))
        try:
            scheme, identifier = normalize_identifier(f.text("id_scheme"), f.text("id_value"))
        except CapillaryError as exc:
            raise FieldError("id_value", exc) from None
        name = f.text("name")
        roles = f._guard("roles", parse_roles, f.text("roles"))
        tolerance = f._guard(
            "tolerance_percent",
            lambda _: Tolerance(parse_percent(f.optional("tolerance_percent")), 0),
            None,
        )
        absolute = f.optional("tolerance_absolute")
        if absolute is not None:
            minor = f._guard(
                "tolerance_absolute",
                lambda v: parse_count(v, what="tolerance_absolute", high=MAX_AMOUNT),
                absolute,
            )
            tolerance = Tolerance(tolerance.percent, minor)
        return code, Organization(code, name, scheme, identifier, roles, tolerance, 0)

    return _one(records, build)


def parse_relationships(
    records: Sequence[Record],
) -> tuple[list[Parsed[tuple[str, str]]], list[RowError]]:
    def build(f: Fields) -> tuple[str, tuple[str, str]]:
        buyer, supplier = f.text("buyer"), f.text("supplier")
        return f"{buyer}>{supplier}", (buyer, supplier)

    return _one(records, build)


# ---------------------------------------------------------------- documents with lines


def _grouped(
    records: Sequence[Record],
    key_fields: Sequence[str],
    header_fields: Sequence[str],
    optional: Sequence[str] = (),
) -> tuple[
    list[tuple[tuple[str, ...], int, dict[str, Any], list[tuple[int, str, dict[str, Any]]]]],
    list[RowError],
]:
    """Documents as (key, first row, header, [(row, field prefix, line)]). JSON records carry
    their lines; CSV rows sharing a key are one document, and must agree on the header."""
    docs: dict[
        tuple[str, ...], tuple[int, dict[str, Any], list[tuple[int, str, dict[str, Any]]]]
    ] = {}
    errors: list[RowError] = []
    for row, data in records:
        key_values = []
        for name in key_fields:
            value = str(data.get(name) or "").strip()
            if not value and name not in optional:
                errors.append(RowError(row, name, "is required", "invalid_field"))
                break
            key_values.append(value)
        else:
            key = tuple(key_values)
            lines_field = data.get("lines")
            if isinstance(lines_field, list):  # JSON: one record, its lines inside
                lines = [(row, f"lines[{n}].", ln) for n, ln in enumerate(lines_field, 1)
                         if isinstance(ln, dict)]  # fmt: skip
                if len(lines) != len(lines_field):
                    errors.append(
                        RowError(row, "lines", "each line must be an object", "invalid_field")
                    )
                    continue
                if key in docs:
                    errors.append(
                        RowError(row, key_fields[-1], "appears twice in the file", "duplicate_row")
                    )
                    continue
                docs[key] = (row, data, lines)
                continue
            if key not in docs:  # CSV: the first row of the document carries its header
                docs[key] = (row, data, [])
            first_row, header, lines = docs[key]
            for name in header_fields:
                if str(data.get(name) or "").strip() != str(header.get(name) or "").strip():
                    errors.append(
                        RowError(row, name, f"differs from row {first_row} of the same document",
                                 "inconsistent_rows")
                    )  # fmt: skip
                    break
            else:
                lines.append((row, "", data))
    out = [(key, first_row, header, lines) for key, (first_row, header, lines) in docs.items()]
    return out, errors


def _documents(
    records: Sequence[Record],
    key_fields: Sequence[str],
    header_fields: Sequence[str],
    build: Callable[[Fields, list[tuple[int, Fields]]], T],
    optional: Sequence[str] = (),
) -> tuple[list[Parsed[T]], list[RowError]]:
    groups, errors = _grouped(records, key_fields, header_fields, optional)
    bad_rows = {e.row for e in errors}
    parsed: list[Parsed[T]] = []
    for key, first_row, header, lines in groups:
        if first_row in bad_rows or any(row in bad_rows for row, _, _ in lines):
            continue  # a document with a bad row is left out whole
        line_fields = [(row, Fields(data, prefix)) for row, prefix, data in lines]
        try:
            doc = build(Fields(header), line_fields)
        except _LineError as exc:
            errors.append(RowError(exc.row, exc.error.field, exc.error.reason, exc.error.code))
            continue
        except FieldError as exc:
            errors.append(RowError(first_row, exc.field, exc.reason, exc.code))
            continue
        except CapillaryError as exc:
            errors.append(RowError(first_row, "-", exc.message, exc.code))
            continue
        parsed.append(Parsed(doc, "/".join(part for part in key if part), first_row))
    errors.sort(key=lambda e: e.row)
    return parsed, errors


class _LineError(Exception):
    def __init__(self, row: int, error: FieldError) -> None:
        super().__init__(str(error))
        self.row = row
        self.error = error


def _lines(lines: list[tuple[int, Fields]], build: Callable[[Fields], T]) -> tuple[T, ...]:
    out = []
    for row, f in lines:
        try:
            out.append(build(f))
        except FieldError as exc:
            raise _LineError(row, exc) from None
    return tuple(out)


_ORDER_HEADER = ("supplier", "currency", "order_date", "expected_date")


def parse_orders(records: Sequence[Record]) -> tuple[list[Parsed[PurchaseOrder]], list[RowError]]:
    def build(h: Fields, lines: list[tuple[int, Fields]]) -> PurchaseOrder:
        return PurchaseOrder(
            number=h.text("number"),
            buyer=h.text("buyer"),
            supplier=h.text("supplier"),
            currency=h.currency("currency"),
            order_date=h.day("order_date"),
            expected_date=h.optional_day("expected_date"),
            lines=_lines(
                lines,
                lambda f: OrderLine(
                    line_no=f.integer("line_no"),
                    item=f.text("item"),
                    description=f.optional("description") or "",
                    quantity=f.number("quantity", positive=True),
                    uom=f.text("uom"),
                    unit_price=f.number("unit_price"),
                    tax_rate=f.rate("tax_rate"),
                ),
            ),
        )

    return _documents(records, ("buyer", "number"), _ORDER_HEADER, build)


_DELIVERY_HEADER = ("buyer", "order_number", "delivered_on")


def parse_deliveries(records: Sequence[Record]) -> tuple[list[Parsed[Delivery]], list[RowError]]:
    def build(h: Fields, lines: list[tuple[int, Fields]]) -> Delivery:
        return Delivery(
            number=h.text("number"),
            order_number=h.text("order_number"),
            buyer=h.text("buyer"),
            supplier=h.text("supplier"),
            delivered_on=h.day("delivered_on"),
            lines=_lines(
                lines,
                lambda f: DeliveryLine(
                    order_line_no=f.integer("order_line_no"),
                    quantity=f.number("quantity", positive=True),
                    accepted=f.optional_number("accepted"),
                    rejected=f.optional_number("rejected"),
                ),
            ),
        )

    return _documents(records, ("supplier", "number"), _DELIVERY_HEADER, build)


_INVOICE_HEADER = ("buyer", "order_number", "currency", "issue_date", "amount", "tax", "total")


def parse_invoices(records: Sequence[Record]) -> tuple[list[Parsed[Invoice]], list[RowError]]:
    def build(h: Fields, lines: list[tuple[int, Fields]]) -> Invoice:
        code = h.optional("code")
        unit = currency(h.currency("currency"))
        e = unit.exponent
        return Invoice(
            seller=h.text("seller"),
            buyer=h.text("buyer"),
            code=code,
            number=h.text("number"),
            order_number=h.text("order_number"),
            currency=unit.code,
            issue_date=h.day("issue_date"),
            amount=h.money("amount", e),
            tax=h.money("tax", e),
            total=h.money("total", e),
            lines=_lines(
                lines,
                lambda f: InvoiceLine(
                    line_no=f.integer("line_no"),
                    order_line_no=f.integer("order_line_no"),
                    quantity=f.number("quantity", positive=True),
                    unit_price=f.number("unit_price"),
                    amount=f.money("line_amount", e),
                    tax_rate=f.rate("tax_rate"),
                    tax=f.money("line_tax", e),
                ),
            ),
        )

    # An invoice is keyed by seller, code (none for a fully digital one) and number.
    return _documents(
        records, ("seller", "code", "number"), _INVOICE_HEADER, build, optional=("code",)
    )
