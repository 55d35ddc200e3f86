"""Every query of the marketplace's book: financing requests, quotes, fills."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import day, is_pg, marks, rows, run, run_many
from capillary.domain.market import (
    RECOURSE_BY_NAME,
    RECOURSE_NAMES,
    BidRecord,
    EarlyPaymentOffer,
    FinancingRequest,
    MarketQuote,
    Status,
)
from capillary.domain.market_view import FillRow, QuoteRow, RequestRow

_REQUEST = (
    "id, holder, fragment_id, obligor, currency, amount, filled, max_rate, recourse, "
    "expires_on, status, created_at, created_by, standing_id"
)
_QUOTE = (
    "id, request_id, funder, rate, amount, filled, recourse, valid_until, status, "
    "created_at, created_by, rule_id"
)


def _request(r: Sequence[Any]) -> FinancingRequest:
    recourse = RECOURSE_BY_NAME[r[8]]
    return FinancingRequest(r[0], r[1], r[2], r[3], r[4], r[5], r[6], Decimal(r[7]), recourse,
                            day(r[9]), Status(r[10]), r[11], r[12], r[13])  # fmt: skip


def _quote(r: Sequence[Any]) -> MarketQuote:
    return MarketQuote(r[0], r[1], r[2], Decimal(r[3]), r[4], r[5], bool(r[6]), day(r[7]),
                       Status(r[8]), r[9], r[10], r[11])  # fmt: skip


def insert_request(
    conn: Connection,
    *,
    holder: str,
    fragment_id: int,
    obligor: str,
    currency: str,
    amount: int,
    max_rate: Decimal,
    recourse: bool | None,
    expires_on: date,
    now: int,
    by: str,
    standing_id: int | None = None,
) -> FinancingRequest:
    (found,) = rows(
        conn,
        "INSERT INTO market_requests (holder, fragment_id, obligor, currency, amount, filled, "
        "max_rate, recourse, expires_on, status, created_at, created_by, standing_id, "
        "origin_fragment) "
        f"VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, 'open', ?, ?, ?, ?) RETURNING {_REQUEST}",
        [holder, fragment_id, obligor, currency, amount, str(max_rate), RECOURSE_NAMES[recourse],
         expires_on, now, by, standing_id, fragment_id],
    )  # fmt: skip
    return _request(found)


def request(conn: Connection, request_id: int, *, lock: bool = False) -> FinancingRequest | None:
    sql = f"SELECT {_REQUEST} FROM market_requests WHERE id = ?"
    if lock and is_pg(conn):
        sql += " FOR UPDATE"
    found = rows(conn, sql, [request_id])
    return _request(found[0]) if found else None


def requests(
    conn: Connection,
    *,
    holder: str | None = None,
    obligors: Sequence[str] | None = None,
    status: Status | None = None,
    after: int = 0,
    limit: int = 100,
    standing_id: int | None = None,
) -> list[FinancingRequest]:
    """Requests in id order after ``after``: a holder's own, or those on ``obligors``, or
    those a standing request posted."""
    where: list[str] = ["id > ?"]
    params: list[Any] = [after]
    if standing_id is not None:
        where.append("standing_id = ?")
        params.append(standing_id)
    if holder is not None:
        where.append("holder = ?")
        params.append(holder)
    if obligors is not None:
        if not obligors:
            return []
        where.append(f"obligor IN ({marks(len(obligors))})")
        params += list(obligors)
    if status is not None:
        where.append("status = ?")
        params.append(status.value)
    found = rows(
        conn,
        f"SELECT {_REQUEST} FROM market_requests WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
        [*params, limit],
    )
    return [_request(r) for r in found]


def set_request(
    conn: Connection, request_id: int, *, fragment_id: int, filled: int, status: Status
) -> None:
    run(conn, "UPDATE market_requests SET fragment_id = ?, filled = ?, status = ? WHERE id = ?",
        [fragment_id, filled, status.value, request_id])  # fmt: skip


def amend_request(
    conn: Connection, request_id: int, *, amount: int, max_rate: Decimal,
    recourse: bool | None, expires_on: date,
) -> None:  # fmt: skip
    run(conn, "UPDATE market_requests SET amount = ?, max_rate = ?, recourse = ?, "
              "expires_on = ? WHERE id = ?",
        [amount, str(max_rate), RECOURSE_NAMES[recourse], expires_on, request_id])  # fmt: skip


def cancel_rule_quotes(
    conn: Connection, *, rule_id: int | None = None, request_id: int | None = None
) -> int:
    """Withdraw the open quotes a standing rule made (or every rule, on one request)."""
    sql, params = "UPDATE market_quotes SET status = 'cancelled' WHERE status = 'open'", []
    if rule_id is not None:
        sql += " AND rule_id = ?"
        params.append(rule_id)
    else:
        sql += " AND rule_id IS NOT NULL"
    if request_id is not None:
        sql += " AND request_id = ?"
        params.append(request_id)
    return run(conn, sql, params)


def rule_quoted(conn: Connection, request_ids: Sequence[int]) -> set[tuple[int, int]]:
    """The (request, rule) pairs with an open quote: a rule quotes a request once."""
    if not request_ids:
        return set()
    found = rows(conn, "SELECT request_id, rule_id FROM market_quotes WHERE status = 'open' "
                       f"AND rule_id IS NOT NULL AND request_id IN ({marks(len(request_ids))})",
                 list(request_ids))  # fmt: skip
    return {(r[0], r[1]) for r in found}


def insert_quote(
    conn: Connection,
    *,
    request_id: int,
    funder: str,
    rate: Decimal,
    amount: int,
    recourse: bool,
    valid_until: date,
    now: int,
    by: str,
    rule_id: int | None = None,
) -> MarketQuote:
    (found,) = rows(
        conn,
        "INSERT INTO market_quotes (request_id, funder, rate, amount, filled, recourse, "
        "valid_until, status, created_at, created_by, rule_id) "
        f"VALUES (?, ?, ?, ?, 0, ?, ?, 'open', ?, ?, ?) RETURNING {_QUOTE}",
        [request_id, funder, str(rate), amount, recourse, valid_until, now, by, rule_id],
    )
    return _quote(found)


def quotes(
    conn: Connection, request_id: int, *, funder: str | None = None, lock: bool = False
) -> list[MarketQuote]:
    sql = f"SELECT {_QUOTE} FROM market_quotes WHERE request_id = ?"
    params: list[Any] = [request_id]
    if funder is not None:
        sql += " AND funder = ?"
        params.append(funder)
    sql += " ORDER BY id"
    if lock and is_pg(conn):
        sql += " FOR UPDATE"
    return [_quote(r) for r in rows(conn, sql, params)]


def open_quotes_of(conn: Connection, funder: str | None, *, limit: int) -> list[MarketQuote]:
    """A funder's open quotes (everyone's, for ``None``), newest first."""
    sql = f"SELECT {_QUOTE} FROM market_quotes WHERE status = 'open'"
    params: list[Any] = []
    if funder is not None:
        sql += " AND funder = ?"
        params.append(funder)
    return [_quote(r) for r in rows(conn, sql + " ORDER BY id DESC LIMIT ?", [*params, limit])]


def set_quote(conn: Connection, quote_id: int, *, filled: int, status: Status) -> None:
    run(conn, "UPDATE market_quotes SET filled = ?, status = ? WHERE id = ?",
        [filled, status.value, quote_id])  # fmt: skip


def insert_fill(
    conn: Connection,
    *,
    request_id: int,
    quote_id: int | None,
    funder: str,
    amount: int,
    rate: Decimal,
    fragment_id: int,
    ledger_tx: int,
    now: int,
    programme_id: int | None = None,
) -> None:
    run(
        conn,
        "INSERT INTO market_fills (request_id, quote_id, funder, amount, rate, fragment_id, "
        "ledger_tx, at, programme_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [request_id, quote_id, funder, amount, str(rate), fragment_id, ledger_tx, now,
         programme_id],
    )  # fmt: skip


def fills(conn: Connection, request_id: int) -> list[dict[str, Any]]:
    found = rows(
        conn,
        "SELECT id, quote_id, funder, amount, rate, fragment_id, ledger_tx, at, programme_id "
        "FROM market_fills WHERE request_id = ? ORDER BY id",
        [request_id],
    )
    keys = ("id", "quote_id", "funder", "amount", "rate", "fragment_id", "ledger_tx", "at",
            "programme_id")  # fmt: skip
    return [dict(zip(keys, r, strict=True)) for r in found]


def funders_obligors(conn: Connection, funder: str, currency: str | None = None) -> list[str]:
    """The obligors ``funder`` has a credit line to: the requests it may see."""
    sql = "SELECT DISTINCT obligor FROM credit_lines WHERE funder = ?"
    params: list[Any] = [funder]
    if currency is not None:
        sql += " AND currency = ?"
        params.append(currency)
    return sorted(r[0] for r in rows(conn, sql, params))


def view_rows(
    conn: Connection,
) -> tuple[list[RequestRow], list[QuoteRow], list[FillRow]]:
    """Every request (with its fragment's tier and days to maturity when asked), what was
    quoted on each (one row per request, summed), and every fill: what the market's view
    summarizes."""
    requests = [
        RequestRow(r[0], r[1], r[2], r[3],
                   (day(r[4]) - datetime.fromtimestamp(r[8] / 1e6, UTC).date()).days,
                   r[5], r[6], r[7], r[8], r[9])
        for r in rows(
            conn,
            "SELECT m.id, m.obligor, m.currency, f.tier, c.maturity, m.amount, m.filled, "
            "m.status, m.created_at, o.industry FROM market_requests m "
            "JOIN fragments f ON f.id = m.fragment_id "  # a fill's change keeps the tier
            "JOIN certificates c ON c.id = f.certificate_id "
            "JOIN organizations o ON o.code = m.obligor ORDER BY m.id",
        )
    ]  # fmt: skip
    # What was quoted on each request, summed here: the view needs only the totals (cast
    # back to integers: PostgreSQL sums bigints as numeric).
    quoted = rows(conn, "SELECT request_id, CAST(SUM(amount) AS BIGINT), "
                        "CAST(SUM(filled) AS BIGINT) FROM ("
                        "SELECT request_id, amount, filled FROM market_quotes UNION ALL "
                        "SELECT request_id, amount, amount FROM market_fills "
                        "WHERE programme_id IS NOT NULL) q GROUP BY request_id")  # fmt: skip
    filled = rows(conn, "SELECT request_id, amount, rate, at FROM market_fills")
    quotes = [QuoteRow(r[0], r[1], r[2]) for r in quoted]
    fills = [FillRow(r[0], r[1], Decimal(r[2]), r[3]) for r in filled]
    return requests, quotes, fills


def view_stamp(conn: Connection) -> tuple[Any, ...]:
    """What changes whenever the market's view could: the newest audit entry (every use
    case records one), the newest quote and fill, and the requests still open (the daily
    expiry closes some unaudited). Each is read off an index."""
    found = rows(conn, "SELECT (SELECT MAX(id) FROM audit_log), "
                       "(SELECT MAX(id) FROM market_quotes), (SELECT MAX(id) FROM market_fills), "
                       "(SELECT COUNT(*) FROM market_requests WHERE status = 'open')")  # fmt: skip
    return tuple(found[0])


def expire(conn: Connection, today: date) -> tuple[int, int]:
    """Requests and quotes past their last day, open still: expired. How many of each."""
    requests = run(conn, "UPDATE market_requests SET status = 'expired' "
                         "WHERE status = 'open' AND expires_on < ?", [today])  # fmt: skip
    quotes = run(conn, "UPDATE market_quotes SET status = 'expired' "
                       "WHERE status = 'open' AND valid_until < ?", [today])  # fmt: skip
    return requests, quotes


# ------------------------------------------------------------------ early payment

_PROGRAMME = (
    "id, obligor, currency, cash, used, hurdle, expires_on, status, last_rate, created_at, "
    "created_by"
)
_BID = (
    "id, programme_id, holder, fragment_id, amount, apr, status, face_cleared, paid, "
    "created_at, created_by"
)


def _programme(r: Sequence[Any]) -> EarlyPaymentOffer:
    return EarlyPaymentOffer(r[0], r[1], r[2], r[3], r[4], Decimal(r[5]), day(r[6]),
                             Status(r[7]), None if r[8] is None else Decimal(r[8]), r[9],
                             r[10])  # fmt: skip


def _bid(r: Sequence[Any]) -> BidRecord:
    return BidRecord(r[0], r[1], r[2], r[3], r[4], Decimal(r[5]), Status(r[6]), r[7], r[8],
                     r[9], r[10])  # fmt: skip


def insert_programme(
    conn: Connection, *, obligor: str, currency: str, cash: int, hurdle: Decimal,
    expires_on: date, now: int, by: str,
) -> EarlyPaymentOffer:  # fmt: skip
    (found,) = rows(
        conn,
        "INSERT INTO market_programmes (obligor, currency, cash, used, hurdle, expires_on, "
        f"status, created_at, created_by) VALUES (?, ?, ?, 0, ?, ?, 'open', ?, ?) "
        f"RETURNING {_PROGRAMME}",
        [obligor, currency, cash, str(hurdle), expires_on, now, by],
    )
    return _programme(found)


def programme(
    conn: Connection, programme_id: int, *, lock: bool = False
) -> EarlyPaymentOffer | None:
    sql = f"SELECT {_PROGRAMME} FROM market_programmes WHERE id = ?"
    if lock and is_pg(conn):
        sql += " FOR UPDATE"
    found = rows(conn, sql, [programme_id])
    return _programme(found[0]) if found else None


def programmes(
    conn: Connection, obligors: Sequence[str] | None, *, open_only: bool = False,
    lock: bool = False,
) -> list[EarlyPaymentOffer]:  # fmt: skip
    """Early-payment offers in id order (``lock``: for the unit of work, on PostgreSQL)."""
    where, params = ["1 = 1"], []
    if obligors is not None:
        if not obligors:
            return []
        where.append(f"obligor IN ({marks(len(obligors))})")
        params = list(obligors)
    if open_only:
        where.append("status = 'open'")
    sql = f"SELECT {_PROGRAMME} FROM market_programmes WHERE {' AND '.join(where)} ORDER BY id"
    if lock and is_pg(conn):
        sql += " FOR UPDATE"
    return [_programme(r) for r in rows(conn, sql, params)]


def set_programme(conn: Connection, programme_id: int, *, used: int, last_rate: Decimal | None,
                  status: Status) -> None:  # fmt: skip
    rate = None if last_rate is None else str(last_rate)
    run(conn, "UPDATE market_programmes SET used = ?, last_rate = ?, status = ? WHERE id = ?",
        [used, rate, status.value, programme_id])  # fmt: skip


def insert_bid(
    conn: Connection, *, programme_id: int, holder: str, fragment_id: int, amount: int,
    apr: Decimal, now: int, by: str,
) -> BidRecord:  # fmt: skip
    (found,) = rows(
        conn,
        "INSERT INTO market_bids (programme_id, holder, fragment_id, amount, apr, status, "
        f"created_at, created_by) VALUES (?, ?, ?, ?, ?, 'open', ?, ?) RETURNING {_BID}",
        [programme_id, holder, fragment_id, amount, str(apr), now, by],
    )
    return _bid(found)


def bids(
    conn: Connection, programme_id: int, *, holder: str | None = None,
    status: Status | None = None, lock: bool = False,
) -> list[BidRecord]:  # fmt: skip
    sql = f"SELECT {_BID} FROM market_bids WHERE programme_id = ?"
    params: list[Any] = [programme_id]
    if holder is not None:
        sql += " AND holder = ?"
        params.append(holder)
    if status is not None:
        sql += " AND status = ?"
        params.append(status.value)
    sql += " ORDER BY id"
    if lock and is_pg(conn):
        sql += " FOR UPDATE"
    return [_bid(r) for r in rows(conn, sql, params)]


def settle_bids(conn: Connection, settled: Sequence[tuple[int, int, int, Status, int]]) -> None:
    """Bids a clearing run paid: (bid, face, paid, its status after, the fragment it now
    bids from), in one round trip."""
    run_many(conn, "UPDATE market_bids SET face_cleared = face_cleared + ?, paid = paid + ?, "
                   "status = ?, fragment_id = ? WHERE id = ?",
             [(face, paid, status.value, fragment, bid)
              for bid, face, paid, status, fragment in settled])  # fmt: skip


def holders_of(conn: Connection, obligor: str) -> list[str]:
    """Organizations holding an active fragment of ``obligor``'s certificates."""
    found = rows(conn, "SELECT DISTINCT f.holder FROM fragments f JOIN certificates c "
                       "ON c.id = f.certificate_id WHERE c.obligor = ? AND f.status = 'active'",
                 [obligor])  # fmt: skip
    return sorted(r[0] for r in found)
