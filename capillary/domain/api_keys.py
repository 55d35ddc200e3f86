"""API keys (DESIGN.md §8): how a bank's or an ERP's system acts for its organization.

A key is ``cap_<id>_<secret>``: the ``id`` is public (logs and the audit trail name a key by
it, and by its visible prefix ``cap_<id>``), the secret is a random 256-bit value shown once
and kept only as its SHA-256 digest. A slow password hash would buy nothing against a
secret of that strength and would cost every request.

Scopes say what the key may do for its organization: ``read`` sees, ``write`` also acts,
``admin`` also manages the organization's keys (and, for the operator, the platform's).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass

from capillary.domain.access import UserRole
from capillary.domain.errors import Unauthorized, ValidationError

PREFIX = "cap"
_KEY = re.compile(r"cap_([a-z2-7]{12})_([A-Za-z0-9_-]{43})")


class Scope(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str  # public: cap_<id> names the key without revealing it
    org: str
    name: str
    scopes: frozenset[Scope]
    created_at: int
    created_by: str
    revoked_at: int | None = None

    @property
    def prefix(self) -> str:
        return f"{PREFIX}_{self.id}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def user_role(self) -> UserRole:
        """The key as a user of its organization: what its widest scope allows."""
        if Scope.ADMIN in self.scopes:
            return UserRole.ADMIN
        if Scope.WRITE in self.scopes:
            return UserRole.STAFF
        return UserRole.READ_ONLY


def parse_scopes(scopes: str | list[str] | tuple[str, ...] | frozenset[Scope]) -> frozenset[Scope]:
    """Scopes as ``read,write`` or a list; each wider scope brings the narrower ones."""
    names = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    found = set()
    for name in (str(n).strip().lower() for n in names):
        if not name:
            continue
        try:
            found.add(Scope(name))
        except ValueError:
            raise ValidationError(f"{name!r} is not a scope: use read, write or admin.") from None
    if not found:
        raise ValidationError("A key needs at least one scope: read, write or admin.")
    if Scope.ADMIN in found:
        found |= {Scope.WRITE, Scope.READ}
    if Scope.WRITE in found:
        found.add(Scope.READ)
    return frozenset(found)


def check_key_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 80 or any(ord(c) < 32 for c in name):
        raise ValidationError("A key's name is 1 to 80 printable characters.")
    return name


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_token(token: str) -> tuple[str, str]:
    """The id and secret of a presented key; any other string is :class:`Unauthorized`."""
    match = _KEY.fullmatch(token.strip())
    if match is None:
        raise Unauthorized("That is not a Capillary API key (cap_<id>_<secret>).")
    return match.group(1), match.group(2)


def matches(secret: str, stored: bytes) -> bool:
    """Whether ``secret`` is the one whose digest is ``stored`` (in constant time)."""
    return hmac.compare_digest(digest(secret), stored)
