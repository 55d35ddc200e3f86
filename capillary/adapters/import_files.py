"""Reading import files: CSV (one record a row, numbered by its line) or JSON (a list of
objects, numbered by position; documents with lines carry them in ``lines``)."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from capillary.domain.errors import ValidationError
from capillary.domain.imports import Record


def read_records(path: Path, *, format: str | None = None) -> list[Record]:
    kind = (format or path.suffix.lstrip(".")).lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationError(f"Cannot read {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path} is not UTF-8 text.") from None
    if kind == "csv":
        return _csv(text)
    if kind == "json":
        return _json(text, path)
    raise ValidationError(f"Import files are .csv or .json; {path.name} is neither.")


def _csv(text: str) -> list[Record]:
    reader = csv.DictReader(text.splitlines())
    records: list[Record] = []
    for data in reader:
        if not any((v or "").strip() for v in data.values() if isinstance(v, str)):
            continue  # a blank line
        records.append((reader.line_num, {k.strip(): v for k, v in data.items() if k}))
    return records


def _json(text: str, path: Path) -> list[Record]:
    try:
        data: Any = json.loads(text, parse_float=Decimal)  # never a float
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}."
        ) from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise ValidationError(f"{path.name} must hold a list of records.")
    records: list[Record] = []
    for n, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise ValidationError(f"{path.name}: record {n} is not an object.")
        records.append((n, _strings(item)))
    return records


def _strings(item: dict[str, Any]) -> dict[str, Any]:
    """Numbers as their exact text, as a CSV would give them; lines likewise."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, list):
            out[key] = [_strings(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, bool) or value is None:
            out[key] = value
        elif isinstance(value, int | Decimal):
            out[key] = str(value)
        else:
            out[key] = value
    return out
