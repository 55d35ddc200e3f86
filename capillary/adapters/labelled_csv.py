"""A labelled table from a CSV file (a header row, one row per case, one label column with
two values): the rows as text without the label, each label as 1 (bad) or 0, the feature
names in file order. Anything else is refused with what is wrong."""

from __future__ import annotations

import csv
from pathlib import Path

from capillary.domain.errors import InvalidFile

MAX_ROWS = 5_000_000


def read_labelled(
    path: Path, label: str, bad: str | None = None
) -> tuple[list[dict[str, str]], list[int], list[str]]:
    """``bad``: the label value meaning bad (default: ``bad``, else ``1``, if present)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            if label not in header:
                raise InvalidFile(f"{path.name} has no column {label!r}; its columns are "
                                  f"{', '.join(header[:30]) or 'none'}.")  # fmt: skip
            rows = []
            for n, row in enumerate(reader, 2):
                if None in row or any(v is None for v in row.values()):
                    raise InvalidFile(f"{path.name}, line {n}: not as many fields as the "
                                      "header names.")  # fmt: skip
                rows.append(row)
                if len(rows) > MAX_ROWS:
                    raise InvalidFile(f"{path.name} has more than {MAX_ROWS:,} rows.")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidFile(f"{path} cannot be read as a UTF-8 CSV file: {exc}.") from None
    values = sorted({r[label].strip() for r in rows})
    if len(values) != 2:
        raise InvalidFile(f"The label {label!r} must take two values (good and bad); "
                          f"{path.name} has {len(values)}: {', '.join(values[:5])}.")  # fmt: skip
    chosen = bad if bad is not None else ("bad" if "bad" in values else "1")
    if chosen not in values:
        raise InvalidFile(f"Name which of {values[0]!r} and {values[1]!r} means bad "
                          "(--bad).")  # fmt: skip
    labels = [1 if r.pop(label).strip() == chosen else 0 for r in rows]
    if len(rows) < 50 or min(sum(labels), len(labels) - sum(labels)) < 10:
        raise InvalidFile(f"{path.name} has too few cases to score: {len(labels)} rows, "
                          f"{sum(labels)} bad; at least 50 rows and 10 of each.")  # fmt: skip
    features = [h for h in header if h != label]
    return rows, labels, features
