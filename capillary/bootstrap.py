"""The composition root: the one place that builds the store and the services."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from capillary.adapters import migrate
from capillary.adapters.clock import Clock
from capillary.adapters.database import Database
from capillary.config import Settings
from capillary.domain.bank import parse_debtor_accounts
from capillary.domain.certificates import Rules
from capillary.domain.errors import SchemaBehind
from capillary.domain.exposure import Thresholds
from capillary.domain.inputs import RateRange
from capillary.domain.webhooks import RetryPolicy
from capillary.services.api_keys import ApiKeyService
from capillary.services.backup import BackupService
from capillary.services.bank import BankService
from capillary.services.books import BooksService
from capillary.services.cash import CashService
from capillary.services.certificates import CertificateService
from capillary.services.closed_loop import loop_services
from capillary.services.credit import CreditService
from capillary.services.credit_decisions import CreditDecisions
from capillary.services.early_payment import EarlyPaymentService
from capillary.services.exports import ExportService
from capillary.services.financing import FinancingService
from capillary.services.imports import ImportService
from capillary.services.ledger import LedgerService
from capillary.services.market import MarketService
from capillary.services.market_standing import StandingService
from capillary.services.parties import PartiesService
from capillary.services.platform import PlatformService, platform_clock
from capillary.services.reach import ReachService
from capillary.services.relay import Relay
from capillary.services.risk import RiskService
from capillary.services.scoring import ScoringService
from capillary.services.settlement import SettlementService
from capillary.services.trade import TradeService
from capillary.services.users import UserService
from capillary.services.webhooks import WebhookService


def open_database(
    url: str | None = None, *, upgrade: bool = True, create: bool = False, durable: bool = True
) -> Database:
    """The store at ``url``. With ``upgrade`` its schema is brought to the newest revision
    (what tests and the library do); without it, a store behind the code is refused with
    ``schema_behind`` (what the command line does: it never migrates silently), except that
    ``create`` lays out the schema in a store that has none yet."""
    settings = Settings()
    db = Database(url or settings.database_url, max_attempts=settings.max_attempts,
                  durable=durable)  # fmt: skip
    current = migrate.current_revision(db)
    head = migrate.head_revision()
    if upgrade or (create and current is None):
        if current != head:
            migrate.upgrade(db)
    elif current != head:
        where = db.display_url
        if current is None:
            raise SchemaBehind(
                f"There is no Capillary store at {where} yet: create it with "
                "`capillary db upgrade` (or `capillary platform init`)."
            )
        raise SchemaBehind(
            f"The store at {where} is at schema revision {current}; this version of Capillary "
            f"needs {head}. Back it up, then run `capillary db upgrade`."
        )
    return db


def schema_state(db: Database) -> tuple[str | None, str | None]:
    """The store's schema revision and the one this version needs (a read: the store
    must answer)."""
    return migrate.current_revision(db), migrate.head_revision()


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
    cash: CashService
    credit: CreditService
    certificates: CertificateService
    financing: FinancingService
    settlement: SettlementService
    admin: PlatformService  # the platform itself and its clock
    books: BooksService  # the ledger, as principals reach it
    keys: ApiKeyService
    webhooks: WebhookService  # endpoints, their delivery logs, events as a principal reads them
    relay: Relay  # what the worker does with the store
    market: MarketService  # financing requests, quotes and their best execution
    early_payment: EarlyPaymentService  # obligors' cash offered for early payment, its bids
    standing: StandingService  # base rates, grades, standing rules and standing requests
    users: UserService  # console users, their sign-ins and sessions
    reach: ReachService  # how far down its chain an obligor's credit reached
    risk: RiskService  # stress tests through the network of obligations
    scoring: ScoringService  # features, scorecards and the scores they give
    decisions: CreditDecisions  # suggested grades, limits and spreads; the operator's say
    backups: BackupService  # the store copied consistently, with its journal head
    exports: ExportService  # the ledger as beancount; documents, fragments, postings as files
    bank: BankService  # bank accounts on file, pain.001 payments out, camt.053 statements


def open_platform(
    url: str | None = None,
    *,
    upgrade: bool = True,
    create: bool = False,
    clock: Clock | None = None,
    durable: bool = True,
) -> Platform:
    """Every service over the store at ``url``, on the platform's clock (a sandbox's stored
    clock, or wall time) unless ``clock`` is given (tests). ``upgrade``, ``create`` and
    ``durable``: see :func:`open_database` and :func:`capillary.adapters.database.create_engine`."""
    db = open_database(url, upgrade=upgrade, create=create, durable=durable)
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
        discount_rates=RateRange(Decimal(0), settings.max_discount_rate, "A discount rate"),
        fee_rates=RateRange(Decimal(0), settings.max_fee_rate, "A fee rate"),
    )
    loop = loop_services(
        db, ledger, clock=clock, rules=rules, penalty_rate=settings.penalty_rate,
        timezone=timezone,
    )  # fmt: skip
    admin = PlatformService(db, clock=clock)
    return Platform(
        ledger, parties, trade, ImportService(parties, trade), loop.cash, loop.credit,
        loop.certificates, loop.financing, loop.settlement, admin,
        BooksService(ledger), ApiKeyService(db, clock=clock),
        WebhookService(db, clock=clock, allow_private=settings.webhook_allow_private),
        Relay(db, clock=clock, timezone=timezone, policy=RetryPolicy(
            retry_for_us=settings.webhook_retry_for * 1_000_000,
            first_us=int(settings.webhook_backoff_first * 1_000_000),
            cap_us=int(settings.webhook_backoff_cap * 1_000_000),
        )),
        loop.market, loop.early_payment, loop.standing, UserService(db, clock=clock),
        ReachService(db),
        RiskService(db, clock=clock, timezone=timezone, thresholds=Thresholds(
            settings.alert_obligor_share, settings.alert_funder_share)),
        ScoringService(db, clock=clock, timezone=timezone),
        CreditDecisions(loop.credit, loop.standing), BackupService(ledger),
        ExportService(db, clock=clock, timezone=timezone),
        BankService(db, ledger, clock=clock, timezone=timezone, name=settings.platform_name,
                    debtors=parse_debtor_accounts(settings.bank_accounts, settings.platform_name)),
    )  # fmt: skip


def upgrade_schema(url: str | None = None) -> tuple[str | None, str | None]:
    """Run the pending migrations; returns the revision before and after."""
    settings = Settings()
    db = Database(url or settings.database_url, max_attempts=settings.max_attempts)
    try:
        before = migrate.current_revision(db)
        migrate.upgrade(db)
        return before, migrate.current_revision(db)
    finally:
        db.dispose()
