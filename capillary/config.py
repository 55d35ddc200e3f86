"""Settings, read from the environment (``CAPILLARY_*``) or a ``.env`` file."""

from __future__ import annotations

from decimal import Decimal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAPILLARY_", env_file=".env", extra="ignore")

    #: Where the ledger lives: a SQLite file by default, or a PostgreSQL URL
    #: (``postgresql://user@host:5432/dbname``).
    database_url: str = "sqlite:///capillary.db"
    #: How many times a transaction that lost a race is run again before giving up.
    max_attempts: int = 30
    #: Certificates: the smallest fragment a split may make, in minor units.
    min_fragment: int = 100_00
    #: Certificates: days from issue to maturity beyond which an issue is warned, and refused.
    soft_tenor_days: int = 180
    max_tenor_days: int = 365
    #: Certificates: penalty interest on overdue amounts, a year (ACT/360).
    penalty_rate: Decimal = Decimal("0.18")
    #: Financing: the highest annual discount rate, and the highest platform fee on the face,
    #: a financing or an early payment may carry (fractions: 0.36 is 36%).
    max_discount_rate: Decimal = Decimal("0.36")
    max_fee_rate: Decimal = Decimal("0.05")
    #: Events: the NATS server the worker publishes events to (JetStream stream
    #: ``CAPILLARY``); without one, webhooks alone.
    nats_url: str | None = None
    #: The JetStream stream and the prefix of its subjects (``<prefix>.<org>.<type>``).
    nats_stream: str = "CAPILLARY"
    nats_prefix: str = "capillary.events"
    #: Webhooks: how long a delivery is retried (seconds) before it is marked failed, the
    #: first retry's delay and the longest (doubling between, with jitter), and how long a
    #: receiver has to answer (seconds).
    webhook_retry_for: int = 24 * 3600
    webhook_backoff_first: float = 5.0
    webhook_backoff_cap: float = 3600.0
    webhook_timeout: float = 10.0
    #: Webhooks may go to loopback or private addresses (a sandbox, tests); off in production.
    webhook_allow_private: bool = False
    #: The worker: how often it seals the journal, expires holds and runs the standing
    #: requests (seconds), and how many days ahead it warns an obligor whose cash is short
    #: of what falls due.
    seal_every: float = 5.0
    expire_holds_every: float = 5.0
    standing_every: float = 30.0
    cash_short_days: int = 3
    #: Concentration alerts (the risk monitor, daily): one obligor's share of everything
    #: outstanding, and of what one funder holds, beyond which the operator is told.
    alert_obligor_share: float = 0.40
    alert_funder_share: float = 0.60
    #: The platform's own bank accounts, ``CUR:NUMBER:BIC`` separated by ``;``: what
    #: payments leave from (one pain.001 per account and run) and what statements are of.
    bank_accounts: str = "CNY:CAPILLARY0000000001:ICBKCNBJXXX"
    #: The platform's name as the banks see it (the debtor of its payments).
    platform_name: str = "Capillary platform"
