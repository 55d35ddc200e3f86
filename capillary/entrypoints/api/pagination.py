"""Cursor pagination: ``?limit=`` (1 to 500) and an opaque ``?cursor=`` that names where the
previous page ended."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from fastapi import Path, Query

from capillary.domain.errors import InvalidCursor

T = TypeVar("T")

MAX_LIMIT = 500
MAX_ID = 2**63 - 1

#: A record's id in a path: 1 to 2^63-1, or the request is refused before the store is asked.
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A record's id.")]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1 to 500).")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="The `next` of the previous page; absent for the first."),
]


def encode(after: str) -> str:
    return base64.urlsafe_b64encode(f"v1:{after}".encode()).decode().rstrip("=")


def decode(cursor: str | None) -> str | None:
    if cursor is None or cursor == "":
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(
            "That cursor was not given by this API: pass a page's `next`."
        ) from None
    if not text.startswith("v1:"):
        raise InvalidCursor("That cursor was not given by this API: pass a page's `next`.")
    return text[3:]


def after_id(cursor: str | None) -> int:
    """A cursor over numeric ids: the id the previous page ended at (0 for the first)."""
    text = decode(cursor)
    if text is None:
        return 0
    if not text.isdigit() or len(text) > 19:
        raise InvalidCursor("That cursor was not given by this API: pass a page's `next`.")
    return int(text)


def window(
    items: Sequence[T], key: Callable[[T], str | int], cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """One page of ``items`` ordered by ``key`` (unique per item), after the cursor's key;
    the cursor of the next page, if there is more."""
    ordered = sorted(items, key=key)
    after = decode(cursor)
    if after is not None:
        numeric = isinstance(key(ordered[0]), int) if ordered else False
        if numeric:
            start = after_id(cursor)
            ordered = [i for i in ordered if int(key(i)) > start]
        else:
            ordered = [i for i in ordered if str(key(i)) > after]
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, encode(str(key(page[-1]))) if more and page else None


def keyset(items: Sequence[T], key: Callable[[T], int], limit: int) -> tuple[list[T], str | None]:
    """A page read in SQL as ``limit + 1`` rows after the cursor's id: the page, and the
    cursor of the next one if the extra row came back."""
    page = list(items[:limit])
    more = len(items) > limit and page
    return page, encode(str(key(page[-1]))) if more else None
