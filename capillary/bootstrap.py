"""The composition root: the one place that builds the store and the services."""

from __future__ import annotations

from dataclasses import dataclass

from capillary.adapters import migrate
from capillary.adapters.clock import Clock
from capillary.adapters.database import Database
from capillary.config import Settings
from capillary.domain.certificates import Rules
from capillary.services.books import BooksService
from capillary.services.certificates import CertificateService
from capillary.services.imports import ImportService
from capillary.services.ledger import LedgerService
from capillary.services.parties import PartiesService
from capillary.services.platform import PlatformService, platform_clock
from capillary.services.trade import TradeService


def open_database(url: str | None = None, *, upgrade: bool = True) -> Database:
    settings = Settings()
    db = Database(url or settings.database_url, max_attempts=settings.max_attempts)
    if upgrade:
        migrate.upgrade(db)
    return db


def open_ledger(
    url: str | None = None, *, upgrade: bool = True, clock: Clock | None = None
) -> LedgerService:
    """The ledger at ``url`` (default: ``CAPILLARY_DATABASE_URL`` or ``capillary.db``),
    its schema brought up to date first unless ``upgrade`` is false."""
    return LedgerService(open_database(url, upgrade=upgrade), clock=clock)


@dataclass(frozen=True)
class Platform:
    """Every service, over one store."""

    ledger: LedgerService
    parties: PartiesService
    trade: TradeService
    imports: ImportService
    certificates: CertificateService
    admin: PlatformService  # the platform itself and its clock
    books: BooksService  # the ledger, as principals reach it


def open_platform(
    url: str | None = None, *, upgrade: bool = True, clock: Clock | None = None
) -> Platform:
    """Every service over the store at ``url``, on the platform's clock (a sandbox's stored
    clock, or wall time) unless ``clock`` is given (tests)."""
    db = open_database(url, upgrade=upgrade)
    stored, timezone = platform_clock(db)
    clock = clock or stored
    ledger = LedgerService(db, clock=clock)
    parties = PartiesService(db, ledger, clock=clock)
    trade = TradeService(db, clock=clock)
    settings = Settings()
    rules = Rules(
        min_fragment=settings.min_fragment,
        max_tenor_days=settings.max_tenor_days,
        soft_tenor_days=settings.soft_tenor_days,
    )
    certificates = CertificateService(
        db, ledger, clock=clock, rules=rules, penalty_rate=settings.penalty_rate,
        timezone=timezone,
    )  # fmt: skip
    admin = PlatformService(db, clock=clock)
    return Platform(
        ledger, parties, trade, ImportService(parties, trade), certificates, admin,
        BooksService(ledger),
    )  # fmt: skip


def upgrade_schema(url: str | None = None) -> tuple[str | None, str | None]:
    """Run the pending migrations; returns the revision before and after."""
    db = open_database(url, upgrade=False)
    try:
        before = migrate.current_revision(db)
        migrate.upgrade(db)
        return before, migrate.current_revision(db)
    finally:
        db.dispose()
