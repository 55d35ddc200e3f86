"""Records to documents: every bad row named by row and field; documents with a bad row
left out whole."""

from capillary.domain.imports import parse_orders, parse_organizations, parse_relationships

HEADER = {"buyer": "core", "supplier": "tier1", "number": "PO-1", "currency": "CNY",
          "order_date": "2026-09-01", "expected_date": ""}  # fmt: skip


def line(n: int, **kw: str) -> dict[str, str]:
    return {**HEADER, "line_no": str(n), "item": f"I{n}", "description": "", "quantity": "10",
            "uom": "pcs", "unit_price": "1.50", "tax_rate": "13%", **kw}  # fmt: skip


def test_csv_rows_sharing_a_key_are_one_document() -> None:
    parsed, errors = parse_orders([(2, line(1)), (3, line(2)), (4, line(1, number="PO-2"))])
    assert errors == []
    assert [(p.key, p.row, len(p.document.lines)) for p in parsed] == [
        ("core/PO-1", 2, 2),
        ("core/PO-2", 4, 1),
    ]


def test_a_bad_row_is_named_and_its_document_left_out_whole() -> None:
    parsed, errors = parse_orders(
        [(2, line(1)), (3, line(2, quantity="-4")), (4, line(1, number="PO-2"))]
    )
    assert [p.key for p in parsed] == ["core/PO-2"]
    assert [(e.row, e.field, e.code) for e in errors] == [(3, "quantity", "invalid_quantity")]


def test_header_columns_must_agree_across_a_documents_rows() -> None:
    _, errors = parse_orders([(2, line(1)), (3, line(2, currency="USD"))])
    assert [(e.row, e.field, e.code) for e in errors] == [(3, "currency", "inconsistent_rows")]


def test_a_missing_key_is_named() -> None:
    _, errors = parse_orders([(5, line(1, number=""))])
    assert [(e.row, e.field) for e in errors] == [(5, "number")]


def test_json_lines_are_named_by_their_path() -> None:
    record = {**HEADER, "lines": [
        {"line_no": "1", "item": "I1", "quantity": "1", "uom": "pcs", "unit_price": "1",
         "tax_rate": "0"},
        {"line_no": "2", "item": "I2", "quantity": "1", "uom": "pcs", "unit_price": "x",
         "tax_rate": "0"},
    ]}  # fmt: skip
    parsed, errors = parse_orders([(1, record)])
    assert parsed == []
    assert [(e.row, e.field) for e in errors] == [(1, "lines[2].unit_price")]


def test_simple_records_report_per_row() -> None:
    _, errors = parse_organizations(
        [(2, {"code": "x-1", "name": "X", "id_scheme": "uscc", "id_value": "123",
              "roles": "supplier"})]
    )  # fmt: skip
    assert [(e.row, e.field, e.code) for e in errors] == [(2, "id_value", "invalid_identifier")]
    parsed, errors = parse_relationships([(2, {"buyer": "a", "supplier": ""})])
    assert (parsed, [(e.row, e.field) for e in errors]) == ([], [(2, "supplier")])
