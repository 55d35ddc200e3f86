"""What the demo economy's report reads from the store, in a few aggregate statements: who
received fragments, every market fill with its certificate's dates, certificates by state,
and the settlement's overdue and recourse record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import day, rows


@dataclass(frozen=True, slots=True)
class FillRecord:
    holder: str
    amount: int
    rate: Decimal
    at: int  # µs
    issue_date: date
    maturity: date
    early_payment: bool  # paid by the obligor from its own cash
    fragment_id: int  # the fragment the funder bought


@dataclass(frozen=True, slots=True)
class BookFigures:
    received: dict[str, int]  # holder: face of every fragment it ever received
    holding: dict[str, int]  # holder: face of the active fragments it holds now
    fills: list[FillRecord]
    certificates: dict[str, tuple[int, int]]  # status: (count, face)
    transfers: tuple[int, int]  # count, face (fragments passed on as payment)
    overdue: int  # certificates that fell overdue at some time
    recourse_claims: tuple[int, int]  # count, amount
    recourse_collected: tuple[int, int]  # count, amount
    penalty_paid: int  # penalty interest paid with overdue certificates
    fragments: dict[int, tuple[int | None, str, int]]  # id: parent, holder, certificate
    sample: list[tuple[int, int | None, str, int, str, int]]  # a certificate's tree
    issued_by_month: dict[str, int]  # "2026-03": face issued


def read(conn: Connection) -> BookFigures:
    # A fragment is received when it is a certificate's root or passed on from another
    # holder (a split's change stays with its holder: not received again).
    received = {r[0]: int(r[1]) for r in rows(
        conn, "SELECT f.holder, SUM(f.amount) FROM fragments f LEFT JOIN fragments p "
              "ON p.id = f.parent_id WHERE p.id IS NULL OR p.holder <> f.holder "
              "GROUP BY f.holder")}  # fmt: skip
    holding = {r[0]: int(r[1]) for r in rows(
        conn, "SELECT holder, SUM(amount) FROM fragments WHERE status = 'active' "
              "GROUP BY holder")}  # fmt: skip
    fills = [
        FillRecord(r[0], int(r[1]), Decimal(r[2]), int(r[3]), day(r[4]), day(r[5]),
                   r[6] is not None, int(r[7]))
        for r in rows(
            conn,
            "SELECT m.holder, fl.amount, fl.rate, fl.at, c.issue_date, c.maturity, "
            "fl.programme_id, fl.fragment_id FROM market_fills fl "
            "JOIN market_requests m ON m.id = fl.request_id "
            "JOIN fragments f ON f.id = fl.fragment_id "
            "JOIN certificates c ON c.id = f.certificate_id ORDER BY fl.id",
        )
    ]  # fmt: skip
    certificates = {r[0]: (int(r[1]), int(r[2])) for r in rows(
        conn, "SELECT status, COUNT(*), SUM(face) FROM certificates GROUP BY status")}  # fmt: skip
    # Passed on as payment: received from another holder, not bought in the market.
    (moved,) = rows(conn, "SELECT COUNT(*), COALESCE(SUM(f.amount), 0) FROM fragments f "
                          "JOIN fragments p ON p.id = f.parent_id WHERE p.holder <> f.holder "
                          "AND NOT EXISTS (SELECT 1 FROM market_fills fl "
                          "WHERE fl.fragment_id = f.id) AND NOT EXISTS (SELECT 1 FROM "
                          "financings x WHERE x.fragment_id = f.id)")  # fmt: skip
    (overdue,) = rows(conn, "SELECT COUNT(DISTINCT entity_key) FROM audit_log "
                            "WHERE entity = 'certificate' AND action = 'overdue'")  # fmt: skip
    (claims,) = rows(conn, "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM recourse_claims")
    (collected,) = rows(conn, "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM recourse_claims "
                              "WHERE status = 'collected'")  # fmt: skip
    # What an overdue certificate's settlement paid beyond its face: the penalty interest.
    late = rows(conn, "SELECT a.detail, c.face FROM audit_log a JOIN certificates c ON "
                      "c.number = a.entity_key WHERE a.entity = 'certificate' AND a.action = "
                      "'settled' AND a.entity_key IN (SELECT entity_key FROM audit_log WHERE "
                      "entity = 'certificate' AND action = 'overdue')")  # fmt: skip
    penalty = sum(int(json.loads(detail)["paid"]) - int(face) for detail, face in late)
    fragments = {int(r[0]): (r[1], r[2], int(r[3])) for r in rows(
        conn, "SELECT id, parent_id, holder, certificate_id FROM fragments")}  # fmt: skip
    biggest = rows(conn, "SELECT certificate_id FROM fragments GROUP BY certificate_id "
                         "ORDER BY COUNT(*) DESC, certificate_id LIMIT 1")  # fmt: skip
    sample = []
    if biggest:
        sample = [(int(r[0]), r[1], r[2], int(r[3]), r[4], int(r[5])) for r in rows(
            conn, "SELECT id, parent_id, holder, amount, status, tier FROM fragments "
                  "WHERE certificate_id = ? ORDER BY id", [biggest[0][0]])]  # fmt: skip
    issued: dict[str, int] = {}
    for issue_date, face in rows(conn, "SELECT issue_date, face FROM certificates"):
        month = day(issue_date).strftime("%Y-%m")
        issued[month] = issued.get(month, 0) + int(face)
    return BookFigures(received, holding, fills, certificates, (int(moved[0]), int(moved[1])),
                       int(overdue[0]), (int(claims[0]), int(claims[1])),
                       (int(collected[0]), int(collected[1])), penalty, fragments, sample,
                       issued)  # fmt: skip
