"""Financing offers: a financing is agreed by both sides (DESIGN.md §5).

Nobody sells or buys a fragment on another's behalf. The holder *offers* (part of) a
fragment to a named funder at a rate, or the funder *quotes* a rate for it to the holder;
the other side accepts, and only then do the fragment and the cash move, priced at the
agreed rate for the days left on the day of acceptance (the platform's date). The side that
proposed may withdraw an open offer; an accepted or withdrawn one is closed for good.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from capillary.domain.errors import OfferClosed
from capillary.domain.pricing import DayCount


class OfferStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class FinancingOffer:
    id: int
    fragment_id: int
    seller: str  # the holder of the fragment
    funder: str
    proposer: str  # seller (an offer to sell) or funder (a quote to buy)
    currency: str  # the certificate's
    amount: int  # face of the part sold, minor units
    rate: Decimal  # annual discount rate
    day_count: DayCount
    fee_rate: Decimal
    recourse: bool
    status: OfferStatus
    created_at: int
    ledger_tx: int | None = None

    @property
    def counterparty(self) -> str:
        """Who must accept it: the side that did not propose."""
        return self.funder if self.proposer == self.seller else self.seller


def check_open(offer: FinancingOffer) -> None:
    if offer.status is not OfferStatus.OPEN:
        raise OfferClosed(f"Financing offer {offer.id} is {offer.status.value}.")
