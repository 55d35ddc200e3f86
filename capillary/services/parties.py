"""Use cases of participants: organizations, their trade relationships, their cash accounts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import invoice_repository as invoice_repo
from capillary.adapters import party_repository as party_repo
from capillary.adapters.clock import Clock, SystemClock
from capillary.adapters.database import Database
from capillary.domain.access import Act, Principal, UserRole, authorize, may_see
from capillary.domain.errors import (
    CapillaryError,
    NoRelationship,
    OrganizationExists,
    OrganizationNotFound,
    UnknownPrincipal,
    ValidationError,
)
from capillary.domain.ledger import Account, BalanceConstraint
from capillary.domain.parties import (
    Organization,
    RelationshipStatus,
    Role,
    Tolerance,
    TradeRelationship,
    check_code,
    normalize_identifier,
    require_role,
)
from capillary.services.idempotency import once, once_outcomes
from capillary.services.ledger import LedgerService
from capillary.services.outcomes import (
    Fate,
    Outcome,
    audit_row,
)


def new_organization(
    *,
    code: str,
    name: str,
    scheme: str,
    identifier: str,
    roles: frozenset[Role],
    tolerance: Tolerance | None = None,
    industry: str | None = None,
) -> Organization:
    """An organization checked against every rule that needs no store."""
    scheme, identifier = normalize_identifier(scheme, identifier)
    name = (name or "").strip()
    if not 0 < len(name) <= 200:
        raise ValidationError("An organization's name is 1 to 200 characters.")
    industry = (industry or "").strip().lower() or None
    if industry is not None and not 0 < len(industry) <= 64:
        raise ValidationError("An organization's industry is named in 1 to 64 characters.")
    return Organization(
        code=check_code(code),
        name=name,
        scheme=scheme,
        identifier=identifier,
        roles=roles,
        tolerance=tolerance or Tolerance(),
        created_at=0,
        industry=industry,
    )


class PartiesService:
    def __init__(self, db: Database, ledger: LedgerService, *, clock: Clock | None = None) -> None:
        self.db = db
        self.ledger = ledger
        self.clock = clock or SystemClock()

    # ------------------------------------------------------------ organizations

    def _batch(
        self, conn: Connection, principal: Principal, key: str, act: Act, request: Any,
        run: Callable[[], list[Outcome]],
        atomic: bool = False,
    ) -> list[Outcome]:  # fmt: skip
        return once_outcomes(
            conn, principal=principal, key=key, use_case=act.value, request=request, run=run,
            atomic=atomic, now=self.clock.now_us(),
        )  # fmt: skip

    def principal(self, org: str, user: str, *, user_role: UserRole = UserRole.STAFF) -> Principal:
        """``org`` acting through ``user``: the organization must be registered."""
        found = self.db.transaction(lambda c: party_repo.orgs_by_code(c, [org]), readonly=True)
        if org not in found:
            raise UnknownPrincipal(f"No organization {org!r} is registered to act as.")
        return Principal(org, user, found[org].roles, user_role)

    def register(self, org: Organization, *, principal: Principal, key: str) -> Organization:
        (outcome,) = self.register_many([org], principal=principal, key=key, atomic=True)
        if outcome.error is not None:
            raise outcome.error
        return self.organization(org.code)

    def register_many(
        self, orgs: Sequence[Organization], *, principal: Principal, key: str, atomic: bool = False
    ) -> list[Outcome]:
        """The operator registers organizations; one already registered identically is left
        unchanged."""
        authorize(principal, Act.REGISTER_ORGANIZATION)
        actor = principal.label

        def work(conn: Connection) -> list[Outcome]:
            items = tuple(orgs)
            return self._batch(conn, principal, key, Act.REGISTER_ORGANIZATION, items,
                               lambda: self._register(conn, orgs, actor),
                               atomic=atomic)  # fmt: skip

        return self.db.transaction(work)

    def _register(
        self, conn: Connection, orgs: Sequence[Organization], actor: str
    ) -> list[Outcome]:
        now = self.clock.now_us()
        by_code = party_repo.orgs_by_code(conn, [o.code for o in orgs])
        by_id = party_repo.orgs_by_identifier(conn, [(o.scheme, o.identifier) for o in orgs])
        outcomes = []
        fresh: list[Organization] = []
        audit = []
        for i, org in enumerate(orgs):
            known = by_code.get(org.code) or by_id.get((org.scheme, org.identifier))
            if known is not None:
                if replace(known, created_at=0) == replace(org, created_at=0):
                    outcomes.append(Outcome(i, org.code, Fate.UNCHANGED))
                else:
                    outcomes.append(
                        Outcome(
                            i,
                            org.code,
                            Fate.REFUSED,
                            OrganizationExists(
                                f"{known.code} ({known.scheme} {known.identifier}) is "
                                "already registered with other details."
                            ),
                        )
                    )
                continue
            org = replace(org, created_at=now)
            by_code[org.code] = by_id[(org.scheme, org.identifier)] = org
            fresh.append(org)
            outcomes.append(Outcome(i, org.code, Fate.CREATED))
            detail = {"roles": sorted(org.roles), "id": f"{org.scheme}:{org.identifier}"}
            audit.append(audit_row("organization", org.code, "registered", actor, now, detail))
        party_repo.insert_orgs(conn, fresh)
        invoice_repo.insert_audit(conn, audit)
        return outcomes

    def organization(self, code: str) -> Organization:
        found = self.db.transaction(lambda c: party_repo.orgs_by_code(c, [code]), readonly=True)
        if code not in found:
            raise OrganizationNotFound(f"No organization {code!r}.")
        return found[code]

    def organizations(
        self, *, after: str = "", limit: int | None = None, role: Role | None = None
    ) -> list[Organization]:
        """The platform's directory in code order, a page at a time (after code ``after``)."""
        return self.db.transaction(
            lambda c: party_repo.list_orgs(c, after=after, limit=limit,
                                     role=role.value if role else None),
            readonly=True,
        )  # fmt: skip

    def set_tolerance(
        self, code: str, tolerance: Tolerance, *, principal: Principal, key: str
    ) -> Organization:
        """The match tolerance this buyer applies to invoices it receives: its own to set."""
        authorize(principal, Act.SET_TOLERANCE, code)
        actor = principal.label
        request = {"code": code, "percent": tolerance.percent, "absolute": tolerance.absolute}

        def work(conn: Connection) -> None:
            once(conn, principal=principal, key=key, use_case=Act.SET_TOLERANCE.value,
                 request=request, result=None, run=lambda: run(conn),
                 now=self.clock.now_us())  # fmt: skip

        def run(conn: Connection) -> None:
            if code not in party_repo.orgs_by_code(conn, [code]):
                raise OrganizationNotFound(f"No organization {code!r}.")
            party_repo.set_tolerance(conn, code, tolerance)
            invoice_repo.insert_audit(
                conn,
                [audit_row("organization", code, "tolerance_set", actor, self.clock.now_us(),
                           {"percent": str(tolerance.percent), "absolute": tolerance.absolute})],
            )  # fmt: skip

        self.db.transaction(work)
        return self.organization(code)

    def cash_account(self, org: str, currency: str, *, principal: Principal) -> Account:
        """The organization's platform cash account in ``currency``, opened on first need: a
        liability of the platform that may never be overdrawn."""
        if not may_see(principal, org):
            raise OrganizationNotFound(f"No cash account of {org!r} to show.")
        self.organization(org)
        return self.ledger.ensure_account(
            org=org,
            unit=currency,
            type="liability",
            code="cash",
            constraint=BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS,
        )

    # ------------------------------------------------------------ relationships

    def relate(
        self, *, buyer: str, supplier: str, principal: Principal, key: str
    ) -> TradeRelationship:
        (outcome,) = self.relate_many(
            [(buyer, supplier)], principal=principal, key=key, atomic=True
        )
        if outcome.error is not None:
            raise outcome.error
        return TradeRelationship(buyer, supplier, RelationshipStatus.ACTIVE)

    def relate_many(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        principal: Principal,
        key: str,
        atomic: bool = False,
    ) -> list[Outcome]:
        """The operator records that each buyer buys from each supplier (active), as it
        onboards a chain; an existing one is left as it is."""
        authorize(principal, Act.RELATE)
        actor = principal.label

        def work(conn: Connection) -> list[Outcome]:
            return self._batch(conn, principal, key, Act.RELATE, tuple(pairs),
                               lambda: self._relate(conn, pairs, actor),
                               atomic=atomic)  # fmt: skip

        return self.db.transaction(work)

    def _relate(
        self, conn: Connection, pairs: Sequence[tuple[str, str]], actor: str
    ) -> list[Outcome]:
        now = self.clock.now_us()
        orgs = party_repo.orgs_by_code(conn, [code for pair in pairs for code in pair])
        existing = party_repo.relationships(conn, pairs)
        outcomes: list[Outcome] = []
        fresh: list[TradeRelationship] = []
        audit = []
        for i, (buyer, supplier) in enumerate(pairs):
            key = f"{buyer}>{supplier}"
            try:
                for code in (buyer, supplier):
                    if code not in orgs:
                        raise OrganizationNotFound(f"No organization {code!r}.")
                if buyer == supplier:
                    raise ValidationError("An organization does not trade with itself.")
                require_role(orgs[supplier], Role.SUPPLIER, doing="sell to a buyer")
            except CapillaryError as exc:
                outcomes.append(Outcome(i, key, Fate.REFUSED, exc))
                continue
            if (buyer, supplier) in existing:
                outcomes.append(Outcome(i, key, Fate.UNCHANGED))
                continue
            rel = TradeRelationship(buyer, supplier, RelationshipStatus.ACTIVE)
            existing[(buyer, supplier)] = rel
            fresh.append(rel)
            outcomes.append(Outcome(i, key, Fate.CREATED))
            audit.append(audit_row("relationship", key, "created", actor, now))
        party_repo.insert_relationships(conn, fresh, now)
        invoice_repo.insert_audit(conn, audit)
        return outcomes

    def set_relationship(
        self,
        *,
        buyer: str,
        supplier: str,
        status: RelationshipStatus,
        principal: Principal,
        key: str,
    ) -> TradeRelationship:
        """The operator suspends or restores a trade relationship."""
        authorize(principal, Act.SET_RELATIONSHIP)
        actor = principal.label
        request = {"buyer": buyer, "supplier": supplier, "status": status.value}

        def work(conn: Connection) -> None:
            once(conn, principal=principal, key=key, use_case=Act.SET_RELATIONSHIP.value,
                 request=request, result=None, run=lambda: run(conn),
                 now=self.clock.now_us())  # fmt: skip

        def run(conn: Connection) -> None:
            if (buyer, supplier) not in party_repo.relationships(conn, [(buyer, supplier)]):
                raise NoRelationship(f"{buyer} has no trade relationship with {supplier}.")
            party_repo.set_relationship_status(conn, buyer, supplier, status)
            invoice_repo.insert_audit(
                conn,
                [audit_row("relationship", f"{buyer}>{supplier}", f"set_{status.value}", actor,
                           self.clock.now_us())],
            )  # fmt: skip

        self.db.transaction(work)
        return TradeRelationship(buyer, supplier, status)

    def relationships(
        self, org: str | None = None, *, principal: Principal,
        after: tuple[str, str] | None = None, limit: int | None = None,
    ) -> list[TradeRelationship]:  # fmt: skip
        """Trade relationships (of ``org``) that the principal is a party to, in (buyer,
        supplier) order, a page at a time."""
        if not principal.sees_everything:
            if org is not None and org != principal.org:
                return []
            org = principal.org
        found = self.db.transaction(
            lambda c: party_repo.list_relationships(c, org, after=after, limit=limit), readonly=True
        )
        return [r for r in found if may_see(principal, r.buyer, r.supplier)]
