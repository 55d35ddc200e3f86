"""Passwords, hashed with argon2id (argon2-cffi's defaults: RFC 9106's low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
#: Verified against when a login name is unknown, so that a wrong name costs what a wrong
#: password does (no timing hint that a name exists).
_DECOY = _HASHER.hash("a password nobody has: the decoy for unknown login names")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (``None``: an unknown user,
    checked against the decoy all the same)."""
    try:
        return _HASHER.verify(stored or _DECOY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
