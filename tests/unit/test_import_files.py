"""Import files as Excel and ERPs write them: numbered alike in CSV and JSON, GBK read,
malformed lines named, broken files refused before anything is read into the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from capillary.adapters.import_files import read_records
from capillary.domain import errors
from capillary.domain.imports import RowError

HEADER = "seller,buyer,number,amount\n"


def records(path: Path, **kw: str) -> list[object]:
    return list(read_records(path, **kw))


def test_csv_and_json_records_are_numbered_alike(tmp_path: Path) -> None:
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(HEADER + "s,b,1,10.00\n\ns,b,2,20.00\n")
    json_file = tmp_path / "a.json"
    json_file.write_text('[{"number": "1", "amount": 10.00}, {"number": "2", "amount": 1e3}]')
    assert [r[0] for r in records(csv_file)] == [1, 2]  # type: ignore[index]
    got = records(json_file)
    assert [r[0] for r in got] == [1, 2]  # type: ignore[index]
    assert got[1][1]["amount"] == "1E+3"  # type: ignore[index]  # refused later, never 1000


def test_gbk_as_excel_writes_it_is_detected_or_declared(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "华鑫汽车,精密零件,1,10.00\n").encode("gbk"))
    ((_, data),) = records(path)  # type: ignore[misc]
    assert data["seller"] == "华鑫汽车"
    ((_, data),) = records(path, encoding="GBK")  # type: ignore[misc]
    assert data["buyer"] == "精密零件"
    with pytest.raises(errors.InvalidFile):
        records(path, encoding="utf-8")
    with pytest.raises(errors.InvalidFile):
        records(path, encoding="latin-9")


def test_a_line_with_more_fields_or_the_header_again_is_a_row_error(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(HEADER + "s,b,1,10.00,extra\n" + HEADER + "s,b,2,20.00\n")
    got = records(path)
    assert [(e.row, e.code) for e in got if isinstance(e, RowError)] == [
        (1, "invalid_row"),
        (2, "invalid_row"),
    ]
    assert [r[0] for r in got if not isinstance(r, RowError)] == [3]  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("dup.csv", "seller,amount,amount\ns,1,2\n"),
        ("empty.csv", ""),
        ("broken.json", '[{"number": "1"}, {"number": '),
        ("scalar.json", "42"),
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("notes.txt", "hello"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(errors.InvalidFile):
        records(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidFile, match="Cannot read"):
        records(tmp_path / "nope.csv")
