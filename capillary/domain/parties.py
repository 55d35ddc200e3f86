"""Participants: organizations, their roles and identifiers, and who trades with whom.

An *organization* is a legal entity, known on the platform by a short ``code`` (a slug,
also its name in the ledger) and identified by a registered identifier: the Unified Social
Credit Code (``uscc``, 18 characters ending in a check character) for mainland entities, or
another declared scheme (``lei``, ``duns``, ``brn`` …) for others. It holds one or more
roles. A *trade relationship* says that ``buyer`` buys from ``supplier``; documents flow
only along an active one.

Each buyer sets its *match tolerance*: how far an invoice may exceed what the order and the
accepted deliveries support and still match, as a percentage and an absolute amount in
minor units (see :mod:`capillary.domain.matching`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from capillary.domain.errors import InvalidIdentifier, NoRelationship, RoleMissing, ValidationError

#: The ledger's name for the platform's own accounts (clearing, fees): not an organization.
PLATFORM_BOOKS = "platform"


class Role(enum.StrEnum):
    CORE = "core"
    SUPPLIER = "supplier"
    FUNDER = "funder"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class RelationshipStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_SCHEME = re.compile(r"^[a-z][a-z0-9_-]{1,19}$")
_OTHER_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{1,62}[A-Za-z0-9]$")


def check_code(code: str) -> str:
    """An organization code: 3-64 lowercase letters, digits and hyphens."""
    if not isinstance(code, str) or not _CODE.match(code):
        raise ValidationError(
            f"An organization code is 3 to 64 lowercase letters, digits or hyphens; got {code!r}."
        )
    return code


def normalize_identifier(scheme: str, value: str) -> tuple[str, str]:
    """The identifier in its one stored form, or ``invalid_identifier``.

    ``uscc`` is checked with its check character (python-stdnum); other schemes are declared
    by name and checked only for shape."""
    scheme = (scheme or "").strip().lower()
    value = (value or "").strip()
    if scheme == "uscc":
        try:
            return scheme, uscc.validate(value)
        except StdnumError as exc:
            raise InvalidIdentifier(
                f"{value!r} is not a valid Unified Social Credit Code: {exc}"
            ) from None
    if not _SCHEME.match(scheme):
        raise InvalidIdentifier(
            f"Identifier scheme {scheme!r} must be 'uscc' or a declared scheme name "
            "(2-20 lowercase letters, digits, '_' or '-')."
        )
    if not _OTHER_VALUE.match(value):
        raise InvalidIdentifier(f"{value!r} is not a plausible {scheme} identifier.")
    return scheme, value.upper()


def parse_roles(roles: str | list[str] | tuple[str, ...] | frozenset[Role]) -> frozenset[Role]:
    """Roles from ``"core|supplier"``, ``"core,supplier"`` or a list; at least one."""
    items = roles.replace(",", "|").split("|") if isinstance(roles, str) else list(roles)
    parsed = set()
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        try:
            parsed.add(Role(name))
        except ValueError:
            raise ValidationError(
                f"{name!r} is not a role; roles are {', '.join(r.value for r in Role)}."
            ) from None
    if not parsed:
        raise ValidationError("An organization needs at least one role.")
    return frozenset(parsed)


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far an invoice may exceed what is supported and still match."""

    percent: Decimal = Decimal("0")
    absolute: int = 0  # minor units

    def __post_init__(self) -> None:
        if not Decimal("0") <= self.percent <= Decimal("100"):
            raise ValidationError(f"A tolerance percentage is 0 to 100; got {self.percent}.")
        if type(self.absolute) is not int or self.absolute < 0:
            raise ValidationError(
                f"An absolute tolerance is a non-negative number of minor units; "
                f"got {self.absolute!r}."
            )

    @property
    def fraction(self) -> Decimal:
        return self.percent / 100


def parse_percent(text: str | Decimal | None) -> Decimal:
    if text is None or text == "":
        return Decimal("0")
    try:
        return Decimal(str(text).strip().rstrip("%"))
    except InvalidOperation:
        raise ValidationError(f"{text!r} is not a percentage.") from None


@dataclass(frozen=True, slots=True)
class Organization:
    code: str
    name: str
    scheme: str
    identifier: str
    roles: frozenset[Role]
    tolerance: Tolerance
    created_at: int
    industry: str | None = None  # what it makes or builds: "autos", "electronics"

    def has(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True, slots=True)
class TradeRelationship:
    buyer: str
    supplier: str
    status: RelationshipStatus


def require_role(org: Organization, role: Role, *, doing: str) -> None:
    if not org.has(role) and not org.has(Role.OPERATOR):
        raise RoleMissing(f"{org.code} is not a {role.value}, so it cannot {doing}.")


def require_trade(relationship: TradeRelationship | None, buyer: str, supplier: str) -> None:
    """Documents flow only along an active buyer → supplier relationship."""
    if relationship is None:
        raise NoRelationship(f"{buyer} has no trade relationship with supplier {supplier}.")
    if relationship.status is not RelationshipStatus.ACTIVE:
        raise NoRelationship(
            f"The trade relationship {buyer} → {supplier} is {relationship.status.value}."
        )
