"""Reading import files, streamed: CSV (one record a line under the header) or JSON (a list
of objects, or ``{"records": [...]}``; documents with lines carry them in ``lines``).

Records are numbered the same way in both formats: record 1 is the first line under a CSV's
header, or the first object of a JSON list. A file is read twice, never held whole: once to
learn its encoding and check that it is well formed (so a file broken at its end is refused
before anything is written), once to yield its records. Text is UTF-8 (with or without a
byte-order mark) or, as Excel writes it on Chinese Windows, GBK/GB18030: declared with
``encoding``, or detected when the file is not valid UTF-8.

What the reader itself finds wrong in a line (more fields than the header, the header
repeated) is yielded as a :class:`~capillary.domain.imports.RowError` in the record's place.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from capillary.domain.errors import InvalidFile
from capillary.domain.imports import Record, RowError

_CHUNK = 1 << 20
#: Encodings a file may declare; GBK is read as GB18030, its superset.
ENCODINGS = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "gbk": "gb18030", "gb2312": "gb18030",
             "gb18030": "gb18030"}  # fmt: skip
#: A CSV field longer than this is not a field of a trade document.
_FIELD_LIMIT = 1 << 20


def read_records(
    path: Path, *, format: str | None = None, encoding: str | None = None
) -> Iterator[Record | RowError]:
    """The records of ``path`` (see the module docstring), checked before the first is
    yielded: a file that cannot be read at all is ``invalid_file``."""
    kind = (format or path.suffix.lstrip(".")).lower()
    if kind not in ("csv", "json"):
        raise InvalidFile(f"Import files are .csv or .json; {path.name} is neither.")
    codec = _encoding(path, encoding)
    if kind == "csv":
        header = _check_csv(path, codec)
        return _csv(path, codec, header)
    _check_json(path, codec)
    return _json(path, codec)


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InvalidFile(f"Cannot read {path}: {exc.strerror}.") from None


def _decodes(path: Path, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    with _open(path) as f:
        try:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _encoding(path: Path, declared: str | None) -> str:
    if declared is not None:
        codec = ENCODINGS.get(declared.strip().lower())
        if codec is None:
            raise InvalidFile(
                f"Import files are UTF-8 or GBK/GB18030 text; {declared!r} is not one of these."
            )
        if not _decodes(path, codec):
            raise InvalidFile(f"{path.name} is not {declared} text.")
        return codec
    for codec in ("utf-8-sig", "gb18030"):
        if _decodes(path, codec):
            return codec
    raise InvalidFile(f"{path.name} is neither UTF-8 nor GBK/GB18030 text.")


def _text(path: Path, codec: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(_open(path), encoding=codec, newline="")


def _reader(f: io.TextIOWrapper) -> Any:
    csv.field_size_limit(_FIELD_LIMIT)
    return csv.reader(f, strict=True)


def _check_csv(path: Path, codec: str) -> list[str]:
    with _text(path, codec) as f:
        reader = _reader(f)
        try:
            header = next(reader, None)
            for _ in reader:
                pass
        except csv.Error as exc:
            raise InvalidFile(
                f"{path.name} is not well-formed CSV at line {reader.line_num}: {exc}."
            ) from None
    if not header or not any(name.strip() for name in header):
        raise InvalidFile(f"{path.name} has no header line naming its columns.")
    names = [name.strip() for name in header]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise InvalidFile(
                f"{path.name}: column {name!r} appears twice in the header; which one is meant "
                "cannot be known."
            )
        seen.add(name)
    return names


def _csv(path: Path, codec: str, header: list[str]) -> Iterator[Record | RowError]:
    with _text(path, codec) as f:
        reader = _reader(f)
        next(reader)
        n = 0
        for fields in reader:
            if not any(v.strip() for v in fields):
                continue  # a blank line is not a record
            n += 1
            if [v.strip() for v in fields] == header:
                yield RowError(n, "-", "repeats the header line", "invalid_row")
            elif len(fields) > len(header):
                yield RowError(
                    n, "-", f"has {len(fields)} fields but the header names {len(header)}",
                    "invalid_row",
                )  # fmt: skip
            else:
                yield n, {name: value for name, value in zip(header, fields, strict=False) if name}


class _Recoded:
    """A text file read back as UTF-8 bytes, for the JSON parser (which reads bytes)."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text
        self.pending = b""

    def __enter__(self) -> _Recoded:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.pending) < size:
            chunk = self.text.read(_CHUNK)
            if not chunk:
                break
            self.pending += chunk.encode("utf-8")
        out, self.pending = (
            (self.pending, b"") if size < 0 else (self.pending[:size], self.pending[size:])
        )
        return out

    def close(self) -> None:
        self.text.close()


def _json_bytes(path: Path, codec: str) -> BinaryIO:
    if codec == "utf-8-sig":
        f = _open(path)
        if f.read(3) != codecs.BOM_UTF8:
            f.seek(0)
        return f
    return _Recoded(_text(path, codec))  # type: ignore[return-value]


#: A list of records whose lines are objects is four levels deep; nothing needs more than this.
MAX_DEPTH = 16


def _check_json(path: Path, codec: str) -> None:
    """Well formed, and no deeper than :data:`MAX_DEPTH` (a deeply nested file is refused
    here, cheaply, before anything builds paths through it)."""
    depth = 0
    with _json_bytes(path, codec) as f:
        try:
            for event, _ in ijson.basic_parse(f, use_float=False):
                if event in ("start_map", "start_array"):
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise InvalidFile(
                            f"{path.name} nests deeper than {MAX_DEPTH} levels; it is not a "
                            "list of records."
                        )
                elif event in ("end_map", "end_array"):
                    depth -= 1
        except ijson.JSONError as exc:
            raise InvalidFile(f"{path.name} is not valid JSON: {exc}.") from None


def _json(path: Path, codec: str) -> Iterator[Record | RowError]:
    with _json_bytes(path, codec) as f:
        first = _first_token(f)
    prefix = "item" if first == "start_array" else "records.item"
    if first not in ("start_array", "start_map"):
        raise InvalidFile(f"{path.name} must hold a list of records.")
    with _json_bytes(path, codec) as f:
        n = 0
        for item in ijson.items(f, prefix, use_float=False):
            n += 1
            if not isinstance(item, dict):
                yield RowError(n, "-", "is not an object", "invalid_row")
            else:
                yield n, _strings(item)
    if n == 0 and prefix == "records.item":
        with _json_bytes(path, codec) as f:
            if _first_token_in_records(f) is None:
                raise InvalidFile(f"{path.name} must hold a list of records.")


def _first_token(f: BinaryIO) -> str | None:
    for _, event, _ in ijson.parse(f, use_float=False):
        return str(event)
    return None


def _first_token_in_records(f: BinaryIO) -> str | None:
    for prefix, event, _ in ijson.parse(f, use_float=False):
        if prefix == "records" and event == "start_array":
            return str(event)
    return None


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
