"""Console users and their sessions (issue 13, DESIGN.md §8).

A **user** belongs to one organization and has a role in it: ``admin`` (manages the
organization's users and keys, and does what staff does), ``staff`` (acts for the
organization) or ``read_only`` (sees, changes nothing). A user signs in to the console with
its login name and password; the password is kept only as an argon2id hash. An
organization's admin manages its own users; the operator's admin manages anyone's.

A **session** is what a signed-in browser carries: a random token in a secure, HTTP-only,
SameSite cookie, kept by the platform only as its SHA-256, with its own CSRF token for the
forms. It ends when the user signs out, after :data:`IDLE_SECONDS` without a request, after
:data:`MAX_SECONDS` in all, or when the user is disabled or its password changed.

**Throttling.** After :data:`FAILURES_ALLOWED` failed sign-ins for one login name within
:data:`FAILURE_WINDOW_SECONDS`, further attempts for it are refused, without checking the
password, until the window has passed since the last failure: a guesser gets a handful of
tries an hour, a user who mistyped waits a quarter of an hour.

The rules here are pure: who may manage whom, what a login name and a password must be,
whether a session is alive, how long a throttled login waits.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from capillary.domain.access import UserRole
from capillary.domain.errors import ValidationError

LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
MIN_PASSWORD = 12
MAX_PASSWORD = 256
IDLE_SECONDS = 30 * 60
MAX_SECONDS = 12 * 3600
FAILURES_ALLOWED = 5
FAILURE_WINDOW_SECONDS = 15 * 60
US = 1_000_000


@dataclass(frozen=True, slots=True)
class User:
    id: int
    org: str
    login: str
    name: str
    role: UserRole
    active: bool
    locale: str  # "en" or "zh"; "" to follow the browser
    created_at: int
    created_by: str


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: the user it is, its CSRF token, when it began and was last used."""

    id: int
    user_id: int
    csrf: str
    created_at: int
    seen_at: int
    ended: bool


def check_login(login: str) -> str:
    """A login name: 3 to 64 of lowercase letters, digits, dot, dash and underscore, not
    starting or ending with punctuation."""
    login = login.strip().lower()
    if not LOGIN.match(login):
        raise ValidationError(
            "A login name is 3 to 64 lowercase letters, digits, '.', '-' or '_', beginning "
            f"and ending with a letter or digit; got {login[:70]!r}."
        )
    return login


def check_password(password: str, login: str) -> str:
    """A password: at least :data:`MIN_PASSWORD` characters (a passphrase is best), not the
    login name, not one character repeated."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationError(
            f"A password is {MIN_PASSWORD} to {MAX_PASSWORD} characters; this one has "
            f"{len(password)}."
        )
    if login in password.lower() or len(set(password)) < 4:
        raise ValidationError("A password may not contain the login name or be so repetitive.")
    return password


def check_display_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 120:
        raise ValidationError("A user's name is 1 to 120 characters.")
    return name


def check_locale(locale: str) -> str:
    if locale not in ("", "en", "zh"):
        raise ValidationError(f"A locale is 'en', 'zh' or '' (the browser's); got {locale!r}.")
    return locale


def session_alive(session: Session, now: int) -> bool:
    return (
        not session.ended
        and now - session.seen_at <= IDLE_SECONDS * US
        and now - session.created_at <= MAX_SECONDS * US
    )


def throttled_for(failures: Sequence[int], now: int) -> int:
    """Seconds a login name must wait before its next attempt, given the times (µs) of its
    recent failed attempts: 0 while fewer than :data:`FAILURES_ALLOWED` fell within the
    window before the last one."""
    recent = sorted(t for t in failures if now - t <= FAILURE_WINDOW_SECONDS * US)
    if len(recent) < FAILURES_ALLOWED:
        return 0
    wait = FAILURE_WINDOW_SECONDS * US - (now - recent[-1])
    return max(1, -(-wait // US))


def token_digest(token: str) -> str:
    """How a session token is kept: its SHA-256 (the token itself is random, 256 bits)."""
    return hashlib.sha256(token.encode()).hexdigest()
