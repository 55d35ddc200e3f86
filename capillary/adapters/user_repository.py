"""Every query of console users, their sessions and failed sign-ins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import is_pg, rows, run
from capillary.domain.access import UserRole
from capillary.domain.parties import Role, parse_roles
from capillary.domain.users import Session, User

_USER = "id, org, login, name, role, active, locale, created_at, created_by"
_SESSION = "id, user_id, csrf, created_at, seen_at, ended"


def _user(r: Sequence[Any]) -> User:
    return User(r[0], r[1], r[2], r[3], UserRole(r[4]), bool(r[5]), r[6], r[7], r[8])


def insert_user(conn: Connection, user: User, password_hash: str) -> User:
    (found,) = rows(
        conn,
        "INSERT INTO users (org, login, name, role, password_hash, active, locale, created_at, "
        f"created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_USER}",
        [user.org, user.login, user.name, user.role.value, password_hash, user.active,
         user.locale, user.created_at, user.created_by],
    )  # fmt: skip
    return _user(found)


def user(
    conn: Connection, *, login: str | None = None, user_id: int | None = None, lock: bool = False
) -> User | None:
    where = "login = ?" if login is not None else "id = ?"
    sql = f"SELECT {_USER} FROM users WHERE {where}"
    if lock and is_pg(conn):
        sql += " FOR UPDATE"
    found = rows(conn, sql, [login if login is not None else user_id])
    return _user(found[0]) if found else None


def users_of(conn: Connection, org: str | None) -> list[User]:
    if org is None:
        return [_user(r) for r in rows(conn, f"SELECT {_USER} FROM users ORDER BY org, login")]
    return [_user(r) for r in rows(conn, f"SELECT {_USER} FROM users WHERE org = ? ORDER BY login",
                                   [org])]  # fmt: skip


def password_hash(conn: Connection, user_id: int) -> str | None:
    found = rows(conn, "SELECT password_hash FROM users WHERE id = ?", [user_id])
    return found[0][0] if found else None


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    columns = ", ".join(f"{c} = ?" for c in values)
    run(conn, f"UPDATE users SET {columns} WHERE id = ?", [*values.values(), user_id])


def org_roles(conn: Connection, org: str) -> frozenset[Role]:
    found = rows(conn, "SELECT roles FROM organizations WHERE code = ?", [org])
    return parse_roles(found[0][0]) if found else frozenset()


# ---------------------------------------------------------------- sessions


def insert_session(conn: Connection, token_hash: str, user_id: int, csrf: str, now: int) -> int:
    (found,) = rows(
        conn,
        "INSERT INTO console_sessions (token_hash, user_id, csrf, created_at, seen_at, ended) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        [token_hash, user_id, csrf, now, now, False],
    )
    return int(found[0])


def session(conn: Connection, token_hash: str) -> Session | None:
    found = rows(conn, f"SELECT {_SESSION} FROM console_sessions WHERE token_hash = ?",
                 [token_hash])  # fmt: skip
    if not found:
        return None
    r = found[0]
    return Session(r[0], r[1], r[2], r[3], r[4], bool(r[5]))


def touch_session(conn: Connection, session_id: int, now: int) -> None:
    run(conn, "UPDATE console_sessions SET seen_at = ? WHERE id = ?", [now, session_id])


def end_session(conn: Connection, session_id: int) -> None:
    run(conn, "UPDATE console_sessions SET ended = ? WHERE id = ?", [True, session_id])


def end_sessions_of(conn: Connection, user_id: int) -> None:
    run(conn, "UPDATE console_sessions SET ended = ? WHERE user_id = ? AND ended = ?",
        [True, user_id, False])  # fmt: skip


# ---------------------------------------------------------------- failed sign-ins


def failures(conn: Connection, login: str, since: int) -> list[int]:
    return [int(r[0]) for r in rows(
        conn, "SELECT at FROM login_failures WHERE login = ? AND at >= ? ORDER BY at",
        [login, since])]  # fmt: skip


def record_failure(conn: Connection, login: str, now: int) -> None:
    run(conn, "INSERT INTO login_failures (login, at) VALUES (?, ?)", [login, now])


def clear_failures(conn: Connection, login: str) -> None:
    run(conn, "DELETE FROM login_failures WHERE login = ?", [login])
