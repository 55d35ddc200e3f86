"""Every query of credit and certificates. Rows that decide an operation are read with a
row lock on PostgreSQL (SQLite's BEGIN IMMEDIATE already serializes writers); a fragment
moves only by a compare-and-set of its status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import certificate_tables as t
from capillary.adapters import driver_sql, sql_bulk
from capillary.domain.certificates import (
    Certificate,
    CertificateStatus,
    Fragment,
    FragmentStatus,
)
from capillary.domain.credit import CreditLine, IssuanceLimit


def _locked(conn: Connection, query: sa.Select[Any]) -> sa.Select[Any]:
    return query.with_for_update() if conn.dialect.name == "postgresql" else query


def _next_ids(conn: Connection, table: sa.Table, count: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            f"SELECT nextval('{table.name}_id_seq') FROM generate_series(1, %s)", (count,)
        )
        return [r[0] for r in rows]
    ((last,),) = driver_sql.rows(conn, f"SELECT coalesce(max(id), 0) FROM {table.name}")
    return list(range(last + 1, last + 1 + count))


# ---------------------------------------------------------------- credit


def _line(r: Any) -> CreditLine:
    return CreditLine(r.id, r.funder, r.obligor, r.currency, r.limit_amount, r.used, r.expires_on)


def credit_line(
    conn: Connection, funder: str, obligor: str, currency: str, *, lock: bool = False
) -> CreditLine | None:
    c = t.credit_lines
    q = sa.select(c).where(c.c.funder == funder, c.c.obligor == obligor, c.c.currency == currency)
    r = conn.execute(_locked(conn, q) if lock else q).first()
    return None if r is None else _line(r)


def upsert_credit_line(
    conn: Connection,
    *,
    funder: str,
    obligor: str,
    currency: str,
    limit: int,
    expires_on: date,
    now: int,
) -> None:
    c = t.credit_lines
    found = credit_line(conn, funder, obligor, currency, lock=True)
    if found is None:
        conn.execute(
            c.insert().values(
                funder=funder,
                obligor=obligor,
                currency=currency,
                limit_amount=limit,
                used=0,
                expires_on=expires_on,
                created_at=now,
            )
        )
    else:
        conn.execute(
            c.update().where(c.c.id == found.id).values(limit_amount=limit, expires_on=expires_on)
        )


def set_credit_used(conn: Connection, line_id: int, used: int) -> None:
    driver_sql.run(conn, "UPDATE credit_lines SET used = ? WHERE id = ?", [used, line_id])


def credit_lines(conn: Connection, org: str | None) -> list[CreditLine]:
    c = t.credit_lines
    q = sa.select(c).order_by(c.c.id)
    if org is not None:
        q = q.where(sa.or_(c.c.funder == org, c.c.obligor == org))
    return [_line(r) for r in conn.execute(q)]


def issuance_limit(
    conn: Connection, obligor: str, currency: str, *, lock: bool = False
) -> IssuanceLimit | None:
    i = t.issuance_limits
    q = sa.select(i).where(i.c.obligor == obligor, i.c.currency == currency)
    r = conn.execute(_locked(conn, q) if lock else q).first()
    return None if r is None else IssuanceLimit(r.obligor, r.currency, r.limit_amount, r.used)


def issuance_limits(conn: Connection, obligor: str | None) -> list[IssuanceLimit]:
    i = t.issuance_limits
    q = sa.select(i).order_by(i.c.obligor, i.c.currency)
    if obligor is not None:
        q = q.where(i.c.obligor == obligor)
    return [IssuanceLimit(r.obligor, r.currency, r.limit_amount, r.used) for r in conn.execute(q)]


def upsert_issuance_limit(conn: Connection, obligor: str, currency: str, limit: int) -> None:
    i = t.issuance_limits
    if issuance_limit(conn, obligor, currency, lock=True) is None:
        conn.execute(
            i.insert().values(obligor=obligor, currency=currency, limit_amount=limit, used=0)
        )
    else:
        conn.execute(
            i.update()
            .where(i.c.obligor == obligor, i.c.currency == currency)
            .values(limit_amount=limit)
        )


def set_issuance_used(conn: Connection, obligor: str, currency: str, used: int) -> None:
    i = t.issuance_limits
    conn.execute(
        i.update().where(i.c.obligor == obligor, i.c.currency == currency).values(used=used)
    )


# ---------------------------------------------------------------- certificates


def _certificate(r: Any) -> Certificate:
    return Certificate(
        r.id,
        r.number,
        r.obligor,
        r.first_holder,
        r.currency,
        r.face,
        r.issue_date,
        r.maturity,
        CertificateStatus(r.status),
    )


_CERTIFICATE_COLUMNS = (
    "id, number, obligor, first_holder, currency, face, issue_date, maturity, status, pending_tx"
)


def _certificate_row(r: Sequence[Any]) -> Certificate:
    return Certificate(r[0], r[1], r[2], r[3], r[4], r[5], driver_sql.day(r[6]),
                       driver_sql.day(r[7]), CertificateStatus(r[8]))  # fmt: skip


def certificate(
    conn: Connection,
    *,
    number: str | None = None,
    certificate_id: int | None = None,
    lock: bool = False,
) -> tuple[Certificate, int | None] | None:
    """A certificate and the ledger hold behind it while pending (straight to the driver:
    every transfer and financing reads one)."""
    where = "number = ?" if number is not None else "id = ?"
    sql = f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates WHERE {where}"
    if lock and driver_sql.is_pg(conn):
        sql += " FOR UPDATE"
    found = driver_sql.rows(conn, sql, [number if number is not None else certificate_id])
    return None if not found else (_certificate_row(found[0]), found[0][9])


def set_certificate_status(
    conn: Connection, certificate_id: int | Sequence[int], status: CertificateStatus
) -> None:
    c = t.certificates
    ids = [certificate_id] if isinstance(certificate_id, int) else list(certificate_id)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        conn.execute(c.update().where(c.c.id.in_(chunk)).values(status=status.value))


def list_certificates(
    conn: Connection, org: str | None, limit: int, *, before: int | None = None,
    status: str | None = None, obligor: str | None = None, currency: str | None = None,
    maturity_from: date | None = None, maturity_to: date | None = None,
) -> list[Certificate]:  # fmt: skip
    """Newest first: those ``org`` is a party to, before id ``before``, in ``status``, of
    ``obligor``, in ``currency``, maturing within the dates given (inclusive)."""
    c = t.certificates
    q = sa.select(c).order_by(c.c.id.desc()).limit(limit)
    if currency is not None:
        q = q.where(c.c.currency == currency)
    if maturity_from is not None:
        q = q.where(c.c.maturity >= maturity_from)
    if maturity_to is not None:
        q = q.where(c.c.maturity <= maturity_to)
    if before is not None:
        q = q.where(c.c.id < before)
    if status is not None:
        q = q.where(c.c.status == status)
    if obligor is not None:
        q = q.where(c.c.obligor == obligor)
    if org is not None:
        held = sa.select(t.fragments.c.certificate_id).where(t.fragments.c.holder == org)
        q = q.where(sa.or_(c.c.obligor == org, c.c.first_holder == org, c.c.id.in_(held)))
    return [_certificate(r) for r in conn.execute(q)]


def due_certificates(
    conn: Connection, on: date, limit: int, *, after_id: int = 0, lock: bool = False
) -> list[Certificate]:
    """Active or overdue certificates whose maturity has come, in id order after
    ``after_id`` (a page of a settlement run)."""
    c = t.certificates
    q = (
        sa.select(c)
        .where(c.c.status.in_(["active", "overdue"]), c.c.maturity <= on, c.c.id > after_id)
        .order_by(c.c.id)
        .limit(limit)
    )
    return [_certificate(r) for r in conn.execute(_locked(conn, q) if lock else q)]


def allocations(conn: Connection, certificate_id: int) -> list[tuple[int, int]]:
    cp = t.certificate_payables
    rows = conn.execute(
        sa.select(cp.c.payable_id, cp.c.amount).where(cp.c.certificate_id == certificate_id)
    )
    return [(r[0], r[1]) for r in rows]


# ---------------------------------------------------------------- fragments


def _fragment(r: Any) -> Fragment:
    return Fragment(
        r.id,
        r.certificate_id,
        r.parent_id,
        r.holder,
        r.amount,
        FragmentStatus(r.status),
        r.tier,
        r.path,
        r.recourse_to,
    )


def next_fragment_ids(conn: Connection, count: int) -> list[int]:
    sql, params = next_fragment_ids_query(conn, count)
    return read_next_ids(conn, driver_sql.rows(conn, sql, params), count)


def insert_fragments(conn: Connection, fragments: Sequence[Fragment], now: int) -> None:
    driver_sql.run_many(
        conn,
        f"INSERT INTO fragments ({_FRAGMENT_COLUMNS}, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(f.id, f.certificate_id, f.parent_id, f.holder, f.amount, f.status.value, f.tier,
          f.path, f.recourse_to, now) for f in fragments],
    )  # fmt: skip


def fragment(conn: Connection, fragment_id: int) -> Fragment | None:
    found = driver_sql.rows(conn, f"SELECT {_FRAGMENT_COLUMNS} FROM fragments WHERE id = ?",
                            [fragment_id])  # fmt: skip
    if not found:
        return None
    r = found[0]
    return Fragment(r[0], r[1], r[2], r[3], r[4], _FRAGMENT_STATUS[r[5]], r[6], r[7], r[8])


def fragments_of(conn: Connection, certificate_ids: Iterable[int]) -> list[Fragment]:
    f = t.fragments
    ids = sorted(set(certificate_ids))
    out: list[Fragment] = []
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        out += [
            _fragment(r)
            for r in conn.execute(
                sa.select(f).where(f.c.certificate_id.in_(chunk)).order_by(f.c.id)
            )
        ]
    return out


def held_by(
    conn: Connection, holder: str, *, after: int = 0, limit: int | None = None
) -> list[Fragment]:
    """The active fragments ``holder`` holds, in id order (a page: after id ``after``)."""
    sql = (f"SELECT {_FRAGMENT_COLUMNS} FROM fragments WHERE holder = ? AND status = 'active' "
           "AND id > ? ORDER BY id")  # fmt: skip
    params: list[Any] = [holder, after]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [Fragment(r[0], r[1], r[2], r[3], r[4], _FRAGMENT_STATUS[r[5]], r[6], r[7], r[8])
            for r in driver_sql.rows(conn, sql, params)]  # fmt: skip


def spend(conn: Connection, fragment_id: int) -> bool:
    """Mark an active fragment spent; False if it was not active any more (someone else
    moved it first: the compare-and-set that serializes transfers of one fragment)."""
    f = t.fragments
    done = conn.execute(
        f.update().where(f.c.id == fragment_id, f.c.status == "active").values(status="spent")
    )
    return done.rowcount == 1


def set_fragments_status(
    conn: Connection, certificate_ids: Sequence[int], *, from_: Sequence[str], to: FragmentStatus
) -> None:
    f = t.fragments
    for start in range(0, len(certificate_ids), 2000):
        chunk = list(certificate_ids[start : start + 2000])
        conn.execute(
            f.update()
            .where(f.c.certificate_id.in_(chunk), f.c.status.in_(list(from_)))
            .values(status=to.value)
        )


def insert_recourse_claims(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """The claims' ids, in the order of ``rows``."""
    if not rows:
        return []
    r = t.recourse_claims
    made = conn.execute(r.insert().returning(r.c.id, sort_by_parameter_order=True), list(rows))
    return [row[0] for row in made]


def recourse_claims(
    conn: Connection, org: str | None, *, after: int = 0, limit: int | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Claims with the number and currency of their certificate, in id order (a page)."""
    r, f, c = t.recourse_claims, t.fragments, t.certificates
    q = (
        sa.select(r, c.c.number, c.c.currency)
        .join(f, f.c.id == r.c.fragment_id)
        .join(c, c.c.id == f.c.certificate_id)
        .order_by(r.c.id)
    )
    if org is not None:
        q = q.where(sa.or_(r.c.claimant == org, r.c.debtor == org))
    q = q.where(r.c.id > after)
    if status is not None:
        q = q.where(r.c.status == status)
    if limit is not None:
        q = q.limit(limit)
    return [dict(row._mapping) for row in conn.execute(q)]


def recourse_claim(conn: Connection, claim_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    r = t.recourse_claims
    q = sa.select(r).where(r.c.id == claim_id)
    row = conn.execute(_locked(conn, q) if lock else q).first()
    return None if row is None else dict(row._mapping)


def close_claims_of(conn: Connection, certificate_ids: Sequence[int], status: str) -> None:
    """Close the open claims on the fragments of ``certificate_ids`` (the obligor paid)."""
    r, f = t.recourse_claims, t.fragments
    for start in range(0, len(certificate_ids), 2000):
        chunk = list(certificate_ids[start : start + 2000])
        frags = sa.select(f.c.id).where(f.c.certificate_id.in_(chunk))
        conn.execute(
            r.update().where(r.c.status == "open", r.c.fragment_id.in_(frags)).values(status=status)
        )


def set_claim_status(conn: Connection, claim_id: int, status: str) -> None:
    r = t.recourse_claims
    conn.execute(r.update().where(r.c.id == claim_id).values(status=status))


def return_fragment(conn: Connection, fragment_id: int, holder: str) -> None:
    """A fragment bought back under recourse: ``holder`` (the seller) holds it again, with
    no recourse left on it."""
    f = t.fragments
    conn.execute(f.update().where(f.c.id == fragment_id).values(holder=holder, recourse_to=None))


# ---------------------------------------------------------------- calendar


def calendar_overrides(conn: Connection) -> dict[date, bool]:
    c = t.calendar_overrides
    return {r.day: bool(r.business_day) for r in conn.execute(sa.select(c))}


def set_calendar_override(
    conn: Connection, day: date, business_day: bool, reason: str, actor: str, now: int
) -> None:
    c = t.calendar_overrides
    conn.execute(c.delete().where(c.c.day == day))
    conn.execute(
        c.insert().values(day=day, business_day=business_day, reason=reason, actor=actor, at=now)
    )


def fragments_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, Fragment]:
    f = t.fragments
    wanted = sorted(set(ids))
    out: dict[int, Fragment] = {}
    for start in range(0, len(wanted), 2000):
        chunk = wanted[start : start + 2000]
        out.update(
            {r.id: _fragment(r) for r in conn.execute(sa.select(f).where(f.c.id.in_(chunk)))}
        )
    return out


_FRAGMENT_COLUMNS = "id, certificate_id, parent_id, holder, amount, status, tier, path, recourse_to"
_WITH_CERTIFICATES = (
    "SELECT f.id, f.certificate_id, f.parent_id, f.holder, f.amount, f.status, f.tier, f.path, "
    "f.recourse_to, c.number, c.obligor, c.first_holder, c.currency, c.face, c.issue_date, "
    "c.maturity, c.status FROM fragments f JOIN certificates c ON c.id = f.certificate_id "
    "WHERE f.id IN "
)


def fragments_with_certificates_query(ids: Sequence[int]) -> tuple[str, Sequence[int]]:
    """The statement of :func:`fragments_with_certificates` for up to 2,000 ids."""
    return f"{_WITH_CERTIFICATES}({driver_sql.marks(len(ids))})", list(ids)


#: Enum members by stored value: a dict lookup, not the enum's call (the hot path reads
#: thousands of fragments a batch).
_FRAGMENT_STATUS = {s.value: s for s in FragmentStatus}
_CERTIFICATE_STATUS = {s.value: s for s in CertificateStatus}


def read_with_certificates(
    rows: Iterable[Sequence[Any]],
    frags: dict[int, Fragment] | None = None,
    certs: dict[int, Certificate] | None = None,
) -> tuple[dict[int, Fragment], dict[int, Certificate]]:
    frags = {} if frags is None else frags
    certs = {} if certs is None else certs
    for r in rows:
        frags[r[0]] = Fragment(r[0], r[1], r[2], r[3], r[4], _FRAGMENT_STATUS[r[5]], r[6],
                               r[7], r[8])  # fmt: skip
        if r[1] not in certs:
            certs[r[1]] = Certificate(
                r[1], r[9], r[10], r[11], r[12], r[13], driver_sql.day(r[14]),
                driver_sql.day(r[15]), _CERTIFICATE_STATUS[r[16]],
            )  # fmt: skip
    return frags, certs


def fragments_with_certificates(
    conn: Connection, ids: Iterable[int]
) -> tuple[dict[int, Fragment], dict[int, Certificate]]:
    """The fragments of ``ids`` that exist, and their certificates, read together (one
    statement per 2,000, on the driver: the hot path of every transfer and financing)."""
    wanted = sorted(set(ids))
    frags: dict[int, Fragment] = {}
    certs: dict[int, Certificate] = {}
    for start in range(0, len(wanted), 2000):
        sql, params = fragments_with_certificates_query(wanted[start : start + 2000])
        read_with_certificates(driver_sql.rows(conn, sql, params), frags, certs)
    return frags, certs


def spend_query(ids: Sequence[int]) -> tuple[str, Sequence[int]]:
    """Mark up to 2,000 active fragments spent (the compare-and-set of a move)."""
    return (
        "UPDATE fragments SET status = 'spent' WHERE status = 'active' AND id IN "
        f"({driver_sql.marks(len(ids))})",
        list(ids),
    )


def next_fragment_ids_query(conn: Connection, count: int) -> tuple[str, Sequence[int]]:
    """The statement whose rows are the next ids (PostgreSQL) or the largest id (SQLite)."""
    if driver_sql.is_pg(conn):
        return "SELECT nextval('fragments_id_seq') FROM generate_series(1, ?)", [count]
    return "SELECT coalesce(max(id), 0) FROM fragments", []


def read_next_ids(conn: Connection, rows: Sequence[Sequence[Any]], count: int) -> list[int]:
    if driver_sql.is_pg(conn):
        return sorted(int(r[0]) for r in rows)
    last = int(rows[0][0])
    return list(range(last + 1, last + 1 + count))


def credit_lines_locked(
    conn: Connection, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], CreditLine]:
    """The credit lines of ``keys`` (funder, obligor, currency) that exist, locked for the
    unit of work in key order (one statement)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    tuples = ", ".join("(?, ?, ?)" for _ in wanted)
    sql = ("SELECT id, funder, obligor, currency, limit_amount, used, expires_on FROM "
           f"credit_lines WHERE (funder, obligor, currency) IN (VALUES {tuples}) "
           "ORDER BY funder, obligor, currency")  # fmt: skip
    if driver_sql.is_pg(conn):
        sql += " FOR UPDATE"
    found = driver_sql.rows(conn, sql, [v for key in wanted for v in key])
    return {(r[1], r[2], r[3]): CreditLine(r[0], r[1], r[2], r[3], r[4], r[5],
                                           driver_sql.day(r[6])) for r in found}  # fmt: skip


def certificates_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, Certificate]:
    wanted = sorted(set(ids))
    out: dict[int, Certificate] = {}
    for start in range(0, len(wanted), 2000):
        chunk = wanted[start : start + 2000]
        sql = (f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates "
               f"WHERE id IN ({driver_sql.marks(len(chunk))})")  # fmt: skip
        out.update({r[0]: _certificate_row(r) for r in driver_sql.rows(conn, sql, chunk)})
    return out


def spend_many(conn: Connection, fragment_ids: Sequence[int]) -> bool:
    """Mark active fragments spent, all or none: False if any was not active any more
    (someone else moved it first)."""
    done = 0
    for start in range(0, len(fragment_ids), 2000):
        done += driver_sql.run(conn, *spend_query(fragment_ids[start : start + 2000]))
    return done == len(fragment_ids)


def insert_financings(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    sql_bulk.bulk_insert(conn, t.financings, rows)


def next_certificate_ids(conn: Connection, count: int) -> list[int]:
    return _next_ids(conn, t.certificates, count)


def insert_certificates(
    conn: Connection, rows: Sequence[tuple[Certificate, int]], now: int
) -> None:
    """Certificates, each with the ledger hold behind it while pending."""
    if rows:
        conn.execute(
            t.certificates.insert(),
            [
                {
                    "id": c.id,
                    "number": c.number,
                    "obligor": c.obligor,
                    "first_holder": c.first_holder,
                    "currency": c.currency,
                    "face": c.face,
                    "issue_date": c.issue_date,
                    "maturity": c.maturity,
                    "status": c.status.value,
                    "pending_tx": hold,
                    "created_at": now,
                }
                for c, hold in rows
            ],
        )


def insert_allocations_many(conn: Connection, rows: Sequence[tuple[int, int, int]]) -> None:
    """(certificate id, payable id, amount) rows."""
    if rows:
        conn.execute(
            t.certificate_payables.insert(),
            [{"certificate_id": c, "payable_id": p, "amount": a} for c, p, a in rows],
        )
