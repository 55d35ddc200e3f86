"""A certificate's steps in the ledger: for each fragment of its tree, the ledger
transaction that made it (the first holder's acceptance, or the move of the fragment it came
from: a payment down the chain, a financing, an early payment), with every posting — the
certificate's units and the cash that moved with them. The tree is read as the viewer may
see it; a step's postings are its parties' (and the platform staff's) to read."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import certificate_repository as repo
from capillary.adapters import ledger_repository as ledger_repo
from capillary.domain.access import Principal, visible_fragments
from capillary.domain.errors import FragmentNotFound
from capillary.domain.ledger import Side
from capillary.services.loop_core import LoopService


@dataclass(frozen=True, slots=True)
class PostingLine:
    org: str
    account: str  # the account's code: held, issued, cash, clearing, fees
    unit: str
    side: Side
    amount: int


@dataclass(frozen=True, slots=True)
class Step:
    transaction_id: int
    key: str
    posted_at: int
    ref: str | None
    metadata: str | None
    lines: tuple[PostingLine, ...]


def step_key(number: str, parent_id: int | None, fragment_id: int) -> str:
    """The idempotency key of the ledger transaction that made a fragment."""
    return f"cert:{number}:accept" if parent_id is None else f"frag:{parent_id}:move"


class CertificateSteps(LoopService):
    def step(self, number: str, fragment_id: int, *, principal: Principal) -> Step:
        """The ledger transaction that made fragment ``fragment_id`` of certificate
        ``number``, with its postings; not found unless the viewer may see the fragment
        and is a party to the transaction (or sees everything)."""

        def read(conn: Connection) -> Step:
            cert, _ = self._visible_certificate(conn, number, principal)
            tree = visible_fragments(principal, cert, repo.fragments_of(conn, [cert.id]))
            fragment = next((f for f in tree if f.id == fragment_id), None)
            missing = FragmentNotFound(f"No fragment {fragment_id} of {number} for you.")
            if fragment is None:
                raise missing
            key = step_key(cert.number, fragment.parent_id, fragment.id)
            tx = ledger_repo.transactions_by_key(conn, [key]).get(key)
            if tx is None:
                raise missing
            accounts = {a: account_repo.get_account(conn, a)
                        for a in {leg.account_id for leg in tx.legs}}  # fmt: skip
            lines = tuple(
                PostingLine(acc.org, acc.code, acc.unit, leg.side, leg.amount)
                for leg in tx.legs
                if (acc := accounts[leg.account_id]) is not None
            )
            if not principal.sees_everything and principal.org not in {x.org for x in lines}:
                raise missing
            return Step(tx.id, tx.key, tx.posted_at, tx.ref, tx.metadata, lines)

        return self.db.transaction(read, readonly=True)
