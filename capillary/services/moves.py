"""Moving fragments: a transfer down the chain and a financing to a funder are the same
split of a fragment, one ledger transaction each, checked and written in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Connection

from capillary.adapters import certificate_repository as repo
from capillary.adapters import invoice_repository as invoice_repo
from capillary.adapters import move_queries
from capillary.domain.certificates import (
    Certificate,
    Fragment,
    check_trade_reference,
    children,
    parse_trade_reference,
    plan_split,
)
from capillary.domain.credit import draw, release
from capillary.domain.errors import (
    CreditLineNotFound,
    FragmentNotActive,
    FragmentNotFound,
    OrganizationNotFound,
)
from capillary.domain.events import (
    Event,
    EventType,
    credit_line_event,
    crossed_near_limit,
    moved_events,
)
from capillary.domain.ledger import (
    BalanceConstraint,
    Leg,
    Side,
    make_request,
)
from capillary.domain.parties import Role, require_role, require_trade
from capillary.domain.pricing import DayCount, Quote, quote
from capillary.services.loop_core import Accounts, LoopService, involved_orgs
from capillary.services.outbox import emit
from capillary.services.outcomes import audit_row


@dataclass(frozen=True, slots=True)
class Move:
    """Passing (part of) a fragment on. A transfer names the trade it pays for
    (``reference``); a financing sells to a funder at ``rate``."""

    fragment_id: int
    sender: str
    recipient: str
    amount: int
    reference: str | None = None
    rate: Decimal | None = None
    day_count: DayCount = DayCount.ACT_360
    fee_rate: Decimal = Decimal(0)
    recourse: bool = False
    #: The obligor buys its own certificate's fragment back early, from its cash, at
    #: ``rate`` (an early-payment bid it cleared): no funder's role, no credit line.
    early_payment: bool = False


@dataclass(frozen=True, slots=True)
class Moved:
    fragments: tuple[Fragment, ...]  # the recipient's, then the sender's change
    quote: Quote | None  # a financing's price
    posting: int  # the ledger transaction that moved it
    certificate: Certificate | None = None  # whose fragments these are


def load_moves(
    conn: Connection, moves: Sequence[Move], *, fragment_ids: Sequence[int] | None = None
) -> move_queries.MoveContext:
    """What a move reads before it decides, in one round trip: the fragments with their
    certificates, the parties, and the trade relationships a transfer needs."""
    return move_queries.load(
        conn,
        fragment_ids if fragment_ids is not None else [m.fragment_id for m in moves],
        sorted({o for m in moves for o in (m.sender, m.recipient)}),
        sorted({(m.sender, m.recipient) for m in moves if m.rate is None}),
    )


class FragmentMover(LoopService):
    """A service that moves fragments (certificates transfer them, financing sells them)."""

    def _trade_reference(self, conn: Connection, buyer: str, supplier: str, reference: str) -> None:
        named = parse_trade_reference(reference)
        invoice = None
        if named is not None:
            key = (supplier, *named)
            invoice = invoice_repo.invoices_by_number(conn, [key]).get(key)
        check_trade_reference(reference, invoice, buyer=buyer, supplier=supplier)

    def _move(
        self,
        conn: Connection,
        moves: Sequence[Move],
        actor: str,
        on: date,
        loaded: move_queries.MoveContext | None = None,
    ) -> list[Moved]:
        """Transfers and financings whose parties have already been checked, on ``on``
        (``loaded``: what :func:`load_moves` read, if the caller read it already)."""
        now = self.clock.now_us()
        ids = [m.fragment_id for m in moves]
        if len(set(ids)) != len(ids):
            raise FragmentNotActive("A fragment can move only once in a batch.")
        context = loaded or load_moves(conn, moves)
        sources, certs, orgs = context.fragments, context.certificates, context.orgs
        relations = context.relationships
        missing = [i for i in ids if i not in sources]
        if missing:
            raise FragmentNotFound(f"No fragment {missing[0]}.")
        for code in sorted({o for m in moves for o in (m.sender, m.recipient)}):
            if code not in orgs:
                raise OrganizationNotFound(f"No organization {code!r}.")
        # Every credit line a move draws or frees, locked in key order, used tracked here:
        # only funders hold lines (a financing draws the buyer's, passing on frees the
        # seller's), so a move between suppliers touches none.
        keys = set()
        for m in moves:
            cert = certs[sources[m.fragment_id].certificate_id]
            for org in (m.sender, m.recipient):
                if Role.FUNDER in orgs[org].roles:
                    keys.add((org, cert.obligor, cert.currency))
        lines = repo.credit_lines_locked(conn, keys) if keys else {}
        used = {key: line.used for key, line in lines.items()}
        plans = []
        for m in moves:
            source = sources[m.fragment_id]
            cert = certs[source.certificate_id]
            q = None
            if m.rate is None:
                require_trade(relations.get((m.sender, m.recipient)), m.sender, m.recipient)
                self._trade_reference(conn, m.sender, m.recipient, m.reference or "")
            elif m.early_payment:
                if m.recipient != cert.obligor:
                    raise FragmentNotActive("Only the obligor pays its certificate early.")
            else:
                require_role(orgs[m.recipient], Role.FUNDER, doing="finance certificates")
                key = (m.recipient, cert.obligor, cert.currency)
                if key not in lines:
                    raise CreditLineNotFound(f"{m.recipient} has no credit line to {cert.obligor}.")
                used[key] = draw(replace(lines[key], used=used[key]), m.amount, on=on)
            split = plan_split(
                cert,
                source,
                sender=m.sender,
                recipient=m.recipient,
                amount=m.amount,
                on=on,
                rules=self.rules,
            )
            if m.rate is not None:
                q = quote(
                    m.amount,
                    m.rate,
                    on=on,
                    maturity=cert.maturity,
                    day_count=m.day_count,
                    fee_rate=m.fee_rate,
                )
            # A funder that passes a fragment on frees that much of its line to the obligor.
            freed = (m.sender, cert.obligor, cert.currency)
            if used.get(freed):
                used[freed] = release(used[freed], min(m.amount, used[freed]))
            plans.append((m, source, cert, split, q))
        units = [c.unit for c in certs.values()]
        currencies = sorted({c.currency for c in certs.values()})
        parties = [o for m in moves for o in (m.sender, m.recipient)]
        spent, new_ids, found = move_queries.claim(
            conn, ids, sum(2 if p[3].change else 1 for p in plans), [*units, *currencies],
            involved_orgs(parties),
        )  # fmt: skip
        if not spent:
            raise FragmentNotActive("A fragment was moved by someone else first.")
        fresh = iter(new_ids)
        accounts = Accounts(self, conn, units, currencies, parties, found=found)
        held_ = BalanceConstraint.CREDITS_MUST_NOT_EXCEED_DEBITS
        cash_ = BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS
        accounts.open_missing(
            [
                (org, cert.unit, "asset", "held", held_)
                for m, _, cert, _, _ in plans
                for org in (m.sender, m.recipient)
            ]
            + [
                (org, cert.currency, "liability", "cash", cash_)
                for m, _, cert, _, q in plans
                if q is not None
                for org in (m.sender, m.recipient)
            ]
        )
        made_all: list[Fragment] = []
        requests = []
        for m, source, cert, split, q in plans:
            made = []
            for f in children(split, first_id=0):
                fid = next(fresh)
                made.append(replace(f, id=fid, path=f"{source.path}/{fid}"))
            if q is not None and m.recourse:
                made[0] = replace(made[0], recourse_to=m.sender)
            made_all += made
            legs = [
                Leg(accounts.held(m.recipient, cert), Side.DEBIT, m.amount),
                Leg(accounts.held(m.sender, cert), Side.CREDIT, m.amount),
            ]
            if q is not None:
                legs += [
                    Leg(accounts.cash(m.recipient, cert.currency), Side.DEBIT, q.price),
                    Leg(accounts.cash(m.sender, cert.currency), Side.CREDIT, q.to_seller),
                ]
                if q.fee:
                    legs.append(Leg(accounts.fees(cert.currency), Side.CREDIT, q.fee))
            ref = m.reference if q is None else f"financing at {m.rate} {m.day_count.value}"
            requests.append(make_request(key=f"frag:{source.id}:move", legs=legs, ref=ref))
        repo.insert_fragments(conn, made_all, now)
        postings = self._post_all(conn, requests)
        events: list[Event] = []  # credit lines that came near their limits
        for key, value in used.items():
            if value != lines[key].used:
                repo.set_credit_used(conn, lines[key].id, value)
                if crossed_near_limit(lines[key].used, value, lines[key].limit):
                    near = replace(lines[key], used=value)
                    events.append(credit_line_event(EventType.CREDIT_LINE_NEAR_LIMIT, near, now))
        results = []
        told: list[Event] = []
        made_iter = iter(made_all)
        financings = []
        audit = []
        for (m, source, cert, split, q), posting in zip(plans, postings, strict=True):
            made = [next(made_iter) for _ in range(2 if split.change else 1)]
            results.append(Moved(tuple(made), q, posting, cert))
            told += moved_events(
                cert,
                made,
                sender=m.sender,
                recipient=m.recipient,
                at=now,
                posting=posting,
                reference=m.reference,
                quote=q,
            )
            if q is not None:
                financings.append(
                    {
                        "fragment_id": made[0].id,
                        "seller": m.sender,
                        "funder": m.recipient,
                        "face": m.amount,
                        "rate": str(m.rate),
                        "day_count": m.day_count.value,
                        "days": q.days,
                        "discount": q.discount,
                        "fee": q.fee,
                        "recourse": m.recourse,
                        "financed_on": on,
                        "ledger_tx": posting,
                    }
                )
            audit.append(
                audit_row(
                    "fragment",
                    str(source.id),
                    "financed" if q is not None else "transferred",
                    actor,
                    now,
                    {"to": m.recipient, "amount": m.amount, "made": [f.id for f in made]},
                )
            )
        repo.insert_financings(conn, financings)
        invoice_repo.insert_audit(conn, audit)
        emit(conn, told + events)
        return results
