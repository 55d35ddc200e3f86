"""Use cases of API keys: created, listed and revoked by an organization's admin (or the
operator's), and the lookup that turns a presented key into the principal it acts as."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from capillary.adapters import api_key_repository as repo
from capillary.adapters import invoice_repository as invoice_repo
from capillary.adapters import party_repository as party_repo
from capillary.adapters.clock import Clock, SystemClock
from capillary.adapters.database import Database
from capillary.domain.access import Act, Principal, authorize_key_admin, may_see
from capillary.domain.api_keys import (
    ApiKey,
    Scope,
    check_key_name,
    digest,
    matches,
    parse_scopes,
    split_token,
)
from capillary.domain.errors import (
    ApiKeyNotFound,
    Forbidden,
    OrganizationNotFound,
    Unauthorized,
)
from capillary.services.idempotency import once
from capillary.services.outcomes import audit_row


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    #: The whole key (``cap_<id>_<secret>``), shown this once; ``None`` when the creation is
    #: replayed under its idempotency key, since the secret is kept nowhere.
    token: str | None


def _new_id() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()[:12]


def _new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


class ApiKeyService:
    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def create(
        self, *, principal: Principal, org: str, name: str, scopes: str | list[str], key: str
    ) -> CreatedKey:
        """A new key for ``org``: its whole value is in the answer, and only there."""
        authorize_key_admin(principal, org)
        wanted = parse_scopes(scopes)
        name = check_key_name(name)
        request = {"org": org, "name": name, "scopes": sorted(wanted)}
        secret_box: list[str] = []

        def work(conn: Connection) -> ApiKey:
            def run() -> ApiKey:
                found = party_repo.orgs_by_code(conn, [org]).get(org)
                if found is None:
                    raise OrganizationNotFound(f"No organization {org!r}.")
                if Scope.ADMIN in wanted and not principal.is_operator and org != principal.org:
                    raise Forbidden("Only the organization itself or the operator grants admin.")
                now = self.clock.now_us()
                made = ApiKey(_new_id(), org, name, wanted, now, principal.label)
                secret = _new_secret()
                repo.insert(conn, made, digest(secret))
                secret_box.append(f"cap_{made.id}_{secret}")
                invoice_repo.insert_audit(
                    conn,
                    [audit_row("api_key", made.prefix, "created", principal.label, now,
                               {"org": org, "name": name, "scopes": sorted(wanted)})],
                )  # fmt: skip
                return made

            return once(conn, principal=principal, key=key, use_case=Act.MANAGE_API_KEYS.value
                        + ":create", request=request, result=ApiKey, run=run,
                        now=self.clock.now_us())  # fmt: skip

        made = self.db.transaction(work)
        return CreatedKey(made, secret_box[-1] if secret_box else None)

    def keys(self, *, principal: Principal, org: str | None = None) -> list[ApiKey]:
        """The keys of ``org`` (default: the principal's): its own, or any for those who see
        everything. Never a secret: there is none to show."""
        org = org or (None if principal.sees_everything else principal.org)
        if org is not None and not may_see(principal, org):
            return []
        return self.db.transaction(lambda c: repo.of_org(c, org), readonly=True)

    def revoke(self, key_id: str, *, principal: Principal, key: str) -> ApiKey:
        """Revoke a key: from now on it is refused (401). Revoking a revoked key changes
        nothing."""

        def work(conn: Connection) -> ApiKey:
            found = repo.get(conn, key_id.removeprefix("cap_"))
            if found is None or not may_see(principal, found.org):
                raise ApiKeyNotFound(f"No API key {key_id!r}.")
            authorize_key_admin(principal, found.org)

            def run() -> ApiKey:
                if not found.active:
                    return found
                now = self.clock.now_us()
                repo.revoke(conn, found.id, principal.label, now)
                invoice_repo.insert_audit(
                    conn, [audit_row("api_key", found.prefix, "revoked", principal.label, now)]
                )
                fresh = repo.get(conn, found.id)
                assert fresh is not None
                return fresh

            return once(conn, principal=principal, key=key, use_case=Act.MANAGE_API_KEYS.value
                        + ":revoke", request={"id": found.id}, result=ApiKey, run=run,
                        now=self.clock.now_us())  # fmt: skip

        return self.db.transaction(work)

    def authenticate(self, token: str) -> tuple[Principal, ApiKey]:
        """The principal a presented key acts as: its organization, through the key (named
        ``key:<id>`` in the audit trail), with the key's scopes as the user's role. A key
        unknown, malformed, revoked or whose secret is wrong is :class:`Unauthorized`, all
        alike."""
        key_id, secret = split_token(token)
        found = repo.presented(self.db, key_id)
        if found is None or not matches(secret, found.secret_hash) or not found.key.active:
            raise Unauthorized("The API key is unknown or revoked.")
        k = found.key
        return Principal(k.org, f"key:{k.id}", found.roles, k.user_role), k
