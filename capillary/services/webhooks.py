"""Use cases of webhooks and events as a principal reaches them: an organization's admin
registers and disables its endpoints and replays failed deliveries; its people read the
delivery log and the events that concern it. Operators and auditors read every log and
manage none (an endpoint carries an organization's events off the platform: only it
decides where)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import event_repository as event_repo
from capillary.adapters import invoice_repository as invoice_repo
from capillary.adapters import party_repository as party_repo
from capillary.adapters import webhook_repository as repo
from capillary.adapters.clock import Clock, SystemClock
from capillary.adapters.database import Database
from capillary.adapters.event_repository import StoredEvent
from capillary.domain.access import Act, Principal, authorize_webhook_admin, may_see
from capillary.domain.errors import (
    OrganizationNotFound,
    WebhookDeliveryNotFound,
    WebhookNotFound,
)
from capillary.domain.events import EventType, parse_types
from capillary.domain.webhooks import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    check_secret,
    check_url,
)
from capillary.services.idempotency import once
from capillary.services.outcomes import audit_row


@dataclass(frozen=True, slots=True)
class CreatedEndpoint:
    endpoint: Endpoint
    #: The signing secret, shown this once (``None`` when the registration is replayed
    #: under its idempotency key).
    secret: str | None


class WebhookService:
    def __init__(
        self, db: Database, *, clock: Clock | None = None, allow_private: bool = False
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.allow_private = allow_private

    def register(
        self,
        *,
        principal: Principal,
        url: str,
        types: Sequence[str],
        secret: str | None = None,
        key: str,
        org: str | None = None,
    ) -> CreatedEndpoint:
        """A new endpoint of the principal's organization for events of ``types`` (``*``:
        all); ``secret`` signs its deliveries (one is made if none is given)."""
        org = org or principal.org
        authorize_webhook_admin(principal, org)
        url = check_url(url, allow_private=self.allow_private)
        chosen = parse_types(types)
        # A secret the caller chose is part of the request; one we make is not (a retry that
        # let us make it is the same request, and gets no secret back).
        request = {"org": org, "url": url, "types": list(chosen),
                   "secret": None if secret is None else check_secret(secret)}  # fmt: skip
        secret = secret or f"whsec_{secrets.token_hex(24)}"
        shown: list[str] = []

        def work(conn: Connection) -> Endpoint:
            def run() -> Endpoint:
                if org not in party_repo.orgs_by_code(conn, [org]):
                    raise OrganizationNotFound(f"No organization {org!r}.")
                now = self.clock.now_us()
                made = repo.insert_endpoint(conn, org, url, chosen, secret, now, principal.label)
                shown.append(secret)
                invoice_repo.insert_audit(
                    conn,
                    [audit_row("webhook", str(made.id), "registered", principal.label, now,
                               {"url": url, "types": list(chosen)})],
                )  # fmt: skip
                return made

            return once(conn, principal=principal, key=key,
                        use_case=Act.MANAGE_WEBHOOKS.value + ":register", request=request,
                        result=Endpoint, run=run, now=self.clock.now_us())  # fmt: skip

        made = self.db.transaction(work)
        return CreatedEndpoint(made, shown[-1] if shown else None)

    def _visible(self, conn: Connection, endpoint_id: int, principal: Principal) -> Endpoint:
        found = repo.endpoint(conn, endpoint_id)
        if found is None or not may_see(principal, found.org):
            raise WebhookNotFound(f"No webhook endpoint {endpoint_id}.")
        return found

    def endpoint(self, endpoint_id: int, *, principal: Principal) -> Endpoint:
        return self.db.transaction(
            lambda c: self._visible(c, endpoint_id, principal), readonly=True
        )

    def endpoints(self, *, principal: Principal, org: str | None = None) -> list[Endpoint]:
        """The endpoints of ``org`` (default: the principal's; any, for those who see all)."""
        org = org or (None if principal.sees_everything else principal.org)
        if org is not None and not may_see(principal, org):
            return []
        return self.db.transaction(lambda c: repo.endpoints(c, org), readonly=True)

    def health(self, *, principal: Principal) -> list[tuple[Endpoint, dict[str, Any]]]:
        """Every endpoint the principal may see with its deliveries by status, when one
        last arrived and its last error: the operator's view of who is not receiving."""

        def read(conn: Connection) -> list[tuple[Endpoint, dict[str, Any]]]:
            org = None if principal.sees_everything else principal.org
            health = repo.delivery_health(conn)
            return [(e, health.get(e.id, {})) for e in repo.endpoints(conn, org)]

        return self.db.transaction(read, readonly=True)

    def disable(self, endpoint_id: int, *, principal: Principal, key: str) -> Endpoint:
        """The endpoint receives nothing more; what waited for it is marked failed."""

        def work(conn: Connection) -> Endpoint:
            found = self._visible(conn, endpoint_id, principal)
            authorize_webhook_admin(principal, found.org)

            def run() -> Endpoint:
                if not found.active:
                    return found
                now = self.clock.now_us()
                repo.disable_endpoint(conn, endpoint_id, now)
                invoice_repo.insert_audit(
                    conn, [audit_row("webhook", str(endpoint_id), "disabled", principal.label, now)]
                )
                fresh = repo.endpoint(conn, endpoint_id)
                assert fresh is not None
                return fresh

            return once(conn, principal=principal, key=key,
                        use_case=Act.MANAGE_WEBHOOKS.value + ":disable",
                        request={"id": endpoint_id}, result=Endpoint, run=run,
                        now=self.clock.now_us())  # fmt: skip

        return self.db.transaction(work)

    def deliveries(
        self,
        endpoint_id: int,
        *,
        principal: Principal,
        status: DeliveryStatus | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """The endpoint's delivery log, newest first: each delivery's attempts, last status,
        last latency and error."""

        def read(conn: Connection) -> list[Delivery]:
            self._visible(conn, endpoint_id, principal)
            return repo.deliveries(conn, endpoint_id, status=status, before=before, limit=limit)

        return self.db.transaction(read, readonly=True)

    def attempts(self, delivery_id: int, *, principal: Principal) -> tuple[Delivery, list[Attempt]]:
        """One delivery and every attempt at it."""

        def read(conn: Connection) -> tuple[Delivery, list[Attempt]]:
            found = repo.delivery(conn, delivery_id)
            if found is None:
                raise WebhookDeliveryNotFound(f"No webhook delivery {delivery_id}.")
            try:
                self._visible(conn, found.endpoint_id, principal)
            except WebhookNotFound:
                raise WebhookDeliveryNotFound(f"No webhook delivery {delivery_id}.") from None
            return found, repo.attempts(conn, delivery_id)

        return self.db.transaction(read, readonly=True)

    def replay(
        self,
        endpoint_id: int,
        *,
        principal: Principal,
        key: str,
        delivery_ids: Sequence[int] | None = None,
    ) -> int:
        """Failed deliveries of the endpoint (those named, or all) due again now, each with
        a fresh retry window; how many. A delivery that is not failed is left as it is."""

        def work(conn: Connection) -> int:
            found = self._visible(conn, endpoint_id, principal)
            authorize_webhook_admin(principal, found.org)

            def run() -> int:
                failed = repo.failed_ids(conn, endpoint_id)
                chosen = failed if delivery_ids is None else sorted(set(delivery_ids) & set(failed))
                now = self.clock.now_us()
                count = repo.replay(conn, chosen, now)
                invoice_repo.insert_audit(
                    conn,
                    [audit_row("webhook", str(endpoint_id), "replayed", principal.label, now,
                               {"deliveries": count})],
                )  # fmt: skip
                return count

            request = {"id": endpoint_id, "deliveries": sorted(delivery_ids or []) or None}
            return once(conn, principal=principal, key=key,
                        use_case=Act.MANAGE_WEBHOOKS.value + ":replay", request=request,
                        result=int, run=run, now=self.clock.now_us())  # fmt: skip

        return self.db.transaction(work)

    def events(
        self,
        *,
        principal: Principal,
        after: int = 0,
        limit: int = 100,
        types: Sequence[str] = (),
    ) -> list[StoredEvent]:
        """The events that concern the principal's organization (every one, for those who
        see all), oldest first after ``after`` (an event's ``seq``): what a receiver that
        missed deliveries reads to catch up."""
        known = {t.value for t in EventType}
        types = [t for t in types if t in known] if types else []
        org = None if principal.sees_everything else principal.org
        return self.db.transaction(
            lambda c: event_repo.of_org(c, org, after=after, limit=limit, types=types),
            readonly=True,
        )
