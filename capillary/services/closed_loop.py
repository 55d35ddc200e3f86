"""The closed loop's services over one store, built together: they share the ledger, the
clock and the rules."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from capillary.adapters.clock import DEFAULT_TIMEZONE, Clock
from capillary.adapters.database import Database
from capillary.domain.certificates import Rules
from capillary.services.cash import CashService
from capillary.services.certificates import CertificateService
from capillary.services.credit import CreditService
from capillary.services.early_payment import EarlyPaymentService
from capillary.services.financing import FinancingService
from capillary.services.ledger import LedgerService
from capillary.services.loop_core import LoopService
from capillary.services.market import MarketService
from capillary.services.market_standing import StandingService
from capillary.services.settlement import SettlementService

S = TypeVar("S", bound=LoopService)


@dataclass(frozen=True)
class LoopServices:
    cash: CashService
    credit: CreditService
    certificates: CertificateService
    financing: FinancingService
    settlement: SettlementService
    market: MarketService
    early_payment: EarlyPaymentService
    standing: StandingService


def loop_services(
    db: Database,
    ledger: LedgerService,
    *,
    clock: Clock | None = None,
    rules: Rules | None = None,
    penalty_rate: Decimal = Decimal("0.18"),
    timezone: str = DEFAULT_TIMEZONE,
) -> LoopServices:
    def make(kind: type[S]) -> S:
        return kind(db, ledger, clock=clock, rules=rules, penalty_rate=penalty_rate,
                    timezone=timezone)  # fmt: skip

    return LoopServices(
        make(CashService), make(CreditService), make(CertificateService),
        make(FinancingService), make(SettlementService), make(MarketService),
        make(EarlyPaymentService), make(StandingService),
    )  # fmt: skip
