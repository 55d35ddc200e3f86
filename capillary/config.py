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
