"""Use cases of console users (issue 13): an organization's admin (or the operator's) adds
users, changes their role, resets a password and disables them; a user signs in and out;
every console request turns its session cookie into the principal it acts as.

Business dates come from the platform clock, but sessions and throttling run on wall time
(a sandbox's clock stands still between its days; an idle session must still end)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from capillary.adapters import invoice_repository as audit_repo
from capillary.adapters import party_repository as party_repo
from capillary.adapters import user_repository as repo
from capillary.adapters.clock import Clock, SystemClock
from capillary.adapters.database import Database
from capillary.adapters.passwords import hash_password, verify_password
from capillary.domain.access import Principal, UserRole, authorize_user_admin, may_see
from capillary.domain.errors import (
    BadCredentials,
    OrganizationNotFound,
    SessionEnded,
    SignInThrottled,
    UserExists,
    UserNotFound,
    ValidationError,
)
from capillary.domain.parties import Role
from capillary.domain.users import (
    FAILURE_WINDOW_SECONDS,
    LOGIN,
    US,
    Session,
    User,
    check_display_name,
    check_locale,
    check_login,
    check_password,
    session_alive,
    throttled_for,
    token_digest,
)
from capillary.services.idempotency import once
from capillary.services.outcomes import audit_row

USE_CASE = "manage_users"
TOUCH_EVERY_US = 60 * US  # a session's last use is written at most once a minute


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the cookie's token (shown this once) and the forms' CSRF token."""

    token: str
    csrf: str
    user: User


@dataclass(frozen=True, slots=True)
class Console:
    """Who a console request acts as."""

    principal: Principal
    user: User
    csrf: str


def _digest(password: str) -> str:
    """How a password enters an idempotency record's request: a digest, never itself."""
    return hashlib.sha256(password.encode()).hexdigest()


def _role(role: str | UserRole) -> UserRole:
    try:
        return UserRole(role)
    except ValueError:
        raise ValidationError(f"A role is admin, staff or read_only; got {role!r}.") from None


class UserService:
    def __init__(self, db: Database, *, clock: Clock | None = None,
                 wall: Clock | None = None) -> None:  # fmt: skip
        self.db = db
        self.clock = clock or SystemClock()
        self.wall = wall or SystemClock()

    # ------------------------------------------------------------ managing users

    def add_user(
        self, *, principal: Principal, org: str, login: str, name: str, role: str | UserRole,
        password: str, locale: str = "", key: str,
    ) -> User:  # fmt: skip
        """A new user of ``org``, by its admin or the operator's."""
        authorize_user_admin(principal, org)
        login = check_login(login)
        name, wanted = check_display_name(name), _role(role)
        locale = check_locale(locale)
        check_password(password, login)
        secret = hash_password(password)
        request = {"org": org, "login": login, "name": name, "role": wanted.value,
                   "locale": locale, "password": _digest(password)}  # fmt: skip

        def work(conn: Connection) -> User:
            def run() -> User:
                if org not in party_repo.orgs_by_code(conn, [org]):
                    raise OrganizationNotFound(f"No organization {org!r}.")
                if repo.user(conn, login=login) is not None:
                    raise UserExists(f"The login name {login!r} is taken.")
                now = self.clock.now_us()
                made = repo.insert_user(conn, User(0, org, login, name, wanted, True, locale,
                                                   now, principal.label), secret)  # fmt: skip
                self._audit(conn, made, "created", principal, {"role": wanted.value})
                return made

            return self._once(conn, principal, key, "add", request, run)

        return self.db.transaction(work)

    def users(self, *, principal: Principal, org: str | None = None) -> list[User]:
        """The users of ``org`` (default: the principal's own; every organization's for
        those who see everything)."""
        org = org or (None if principal.sees_everything else principal.org)
        if org is not None and not may_see(principal, org):
            return []
        return self.db.transaction(lambda c: repo.users_of(c, org), readonly=True)

    def set_role(self, login: str, *, principal: Principal, role: str | UserRole,
                 key: str) -> User:  # fmt: skip
        wanted = _role(role)

        def apply(conn: Connection, u: User) -> None:
            repo.update_user(conn, u.id, role=wanted.value)

        return self._change(login, principal, key, "role", {"role": wanted.value}, apply)

    def disable(self, login: str, *, principal: Principal, key: str) -> User:
        """The user signs in no more; its sessions end."""

        def apply(conn: Connection, u: User) -> None:
            repo.update_user(conn, u.id, active=False)
            repo.end_sessions_of(conn, u.id)

        return self._change(login, principal, key, "disable", {}, apply)

    def enable(self, login: str, *, principal: Principal, key: str) -> User:
        return self._change(login, principal, key, "enable", {},
                            lambda conn, u: repo.update_user(conn, u.id, active=True))  # fmt: skip

    def set_password(self, login: str, *, principal: Principal, password: str,
                     key: str) -> User:  # fmt: skip
        """A new password, set by the user itself or its organization's admin; every session
        of the user ends."""
        login = check_login(login)
        check_password(password, login)
        secret = hash_password(password)

        def apply(conn: Connection, u: User) -> None:
            repo.update_user(conn, u.id, password_hash=secret)
            repo.end_sessions_of(conn, u.id)

        return self._change(login, principal, key, "password", {"password": _digest(password)},
                            apply,
                            self_service=True)  # fmt: skip

    def set_locale(self, login: str, *, principal: Principal, locale: str, key: str) -> User:
        """The user's language for the console ('' follows the browser); the user's own."""
        locale = check_locale(locale)
        return self._change(login, principal, key, "locale", {"locale": locale},
                            lambda conn, u: repo.update_user(conn, u.id, locale=locale),
                            self_service=True)  # fmt: skip

    def _change(self, login: str, principal: Principal, key: str, what: str,
                detail: dict[str, str], apply: Callable[[Connection, User], None], *,
                self_service: bool = False) -> User:  # fmt: skip
        login = login.strip().lower()

        def work(conn: Connection) -> User:
            found = repo.user(conn, login=login, lock=True)
            if found is None or not may_see(principal, found.org):
                raise UserNotFound(f"No user {login!r}.")
            if not (self_service and principal.user == f"user:{found.login}"):
                authorize_user_admin(principal, found.org)

            def run() -> User:
                apply(conn, found)
                fresh = repo.user(conn, user_id=found.id)
                assert fresh is not None
                shown = {k: v for k, v in detail.items() if k != "password"}
                self._audit(conn, fresh, what, principal, shown)
                return fresh

            return self._once(conn, principal, key, what, {"login": login, **detail}, run)

        return self.db.transaction(work)

    # ------------------------------------------------------------ signing in

    def sign_in(self, login: str, password: str) -> SignedIn:
        """A session for the user whose login name and password these are. A wrong name or
        password is :class:`BadCredentials`, alike; too many failures for a name within the
        window is :class:`SignInThrottled` without the password being checked."""
        login = login.strip().lower()
        if not LOGIN.match(login) or len(password) > 1024:
            verify_password(None, "")  # the same cost as any other wrong attempt
            raise BadCredentials("The login name or the password is wrong.")
        now = self.wall.now_us()

        def read(conn: Connection) -> tuple[list[int], User | None, str | None]:
            since = now - FAILURE_WINDOW_SECONDS * US
            found = repo.user(conn, login=login)
            stored = repo.password_hash(conn, found.id) if found is not None else None
            return repo.failures(conn, login, since), found, stored

        failures, found, stored = self.db.transaction(read, readonly=True)
        wait = throttled_for(failures, now)
        if wait:
            raise SignInThrottled(
                f"Too many failed sign-ins for {login!r}: try again in {-(-wait // 60)} minute(s)."
            )
        ok = verify_password(stored, password)  # outside any transaction: it takes a while
        if not ok or found is None or not found.active:
            self.db.transaction(lambda c: repo.record_failure(c, login, now))
            raise BadCredentials("The login name or the password is wrong.")
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)

        def start(conn: Connection) -> None:
            repo.clear_failures(conn, login)
            repo.insert_session(conn, token_digest(token), found.id, csrf, now)
            self._audit(conn, found, "signed_in", None, {})

        self.db.transaction(start)
        return SignedIn(token, csrf, found)

    def session(self, token: str) -> Console:
        """Who the session with this cookie token is; :class:`SessionEnded` if it is unknown,
        signed out, idle too long, too old, or its user disabled."""
        now = self.wall.now_us()

        def read(conn: Connection) -> tuple[Session | None, User | None, frozenset[Role]]:
            s = repo.session(conn, token_digest(token))
            u = repo.user(conn, user_id=s.user_id) if s is not None else None
            roles = repo.org_roles(conn, u.org) if u is not None else frozenset()
            return s, u, roles

        s, u, roles = self.db.transaction(read, readonly=True)
        if s is None or u is None or not u.active or not session_alive(s, now):
            raise SessionEnded("Your session has ended: sign in again.")
        if now - s.seen_at > TOUCH_EVERY_US:
            session_id = s.id
            self.db.transaction(lambda c: repo.touch_session(c, session_id, now))
        return Console(Principal(u.org, f"user:{u.login}", roles, u.role), u, s.csrf)

    def sign_out(self, token: str) -> None:
        def end(conn: Connection) -> None:
            s = repo.session(conn, token_digest(token))
            if s is not None and not s.ended:
                repo.end_session(conn, s.id)

        self.db.transaction(end)

    # ------------------------------------------------------------ shared

    def _once(self, conn: Connection, principal: Principal, key: str, what: str,
              request: dict[str, str], run: Callable[[], User]) -> User:  # fmt: skip
        return once(
            conn,
            principal=principal,
            key=key,
            use_case=f"{USE_CASE}:{what}",
            request=request,
            result=User,
            run=run,
            now=self.clock.now_us(),
        )

    def _audit(self, conn: Connection, user: User, action: str, principal: Principal | None,
               detail: dict[str, str]) -> None:  # fmt: skip
        actor = principal.label if principal is not None else f"{user.org}:user:{user.login}"
        audit_repo.insert_audit(conn, [audit_row("user", user.login, action, actor,
                                                 self.clock.now_us(), detail)])  # fmt: skip
