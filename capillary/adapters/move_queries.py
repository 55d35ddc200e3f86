"""The reads of a fragment move, gathered into two round trips.

Before it decides, a transfer or a financing reads the fragments moved with their
certificates, the organizations involved and the trade relationships between them; once
it has decided, it claims the fragments (the compare-and-set that serializes moves), takes
new fragment ids and finds the ledger accounts it will post to. Each group is independent
statements, sent together: one round trip each on PostgreSQL (psycopg's pipeline), three
cheap calls on SQLite. Larger batches fall back to the chunked functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import certificate_repository as certs
from capillary.adapters import driver_sql
from capillary.adapters import party_repository as party_repo
from capillary.domain.certificates import Certificate, Fragment
from capillary.domain.parties import Organization, TradeRelationship

_FEW = 500  # fragments, organizations or units read in one statement


@dataclass(frozen=True, slots=True)
class MoveContext:
    fragments: dict[int, Fragment]
    certificates: dict[int, Certificate]
    orgs: dict[str, Organization]
    relationships: dict[tuple[str, str], TradeRelationship]


def load(
    conn: Connection, fragment_ids: Sequence[int], codes: Sequence[str],
    pairs: Sequence[tuple[str, str]],
) -> MoveContext:  # fmt: skip
    """The fragments (with their certificates), organizations and relationships of a move."""
    ids, orgs, wanted = sorted(set(fragment_ids)), sorted(set(codes)), sorted(set(pairs))
    if len(ids) > _FEW or len(orgs) > _FEW or len(wanted) > party_repo.FEW_PAIRS:
        frags, found = certs.fragments_with_certificates(conn, ids)
        return MoveContext(frags, found, party_repo.orgs_by_code(conn, orgs),
                           party_repo.relationships(conn, wanted) if wanted else {})  # fmt: skip
    queries = [certs.fragments_with_certificates_query(ids), party_repo.orgs_query(orgs)]
    if wanted:
        queries.append(party_repo.relationships_query(wanted))
    results = driver_sql.pipelined(conn, queries)
    frags, found = certs.read_with_certificates(results[0])
    relationships = party_repo.read_relationships(results[2]) if wanted else {}
    return MoveContext(frags, found, party_repo.read_orgs(results[1]), relationships)


ACCOUNT_CODES = ("held", "issued", "cash", "fees")


def claim(
    conn: Connection, fragment_ids: Sequence[int], new_ids: int, units: Sequence[str],
    orgs: Sequence[str] | None,
) -> tuple[bool, list[int], dict[tuple[str, str, str], int]]:  # fmt: skip
    """Spend the fragments (``False`` if any was moved by someone else first), take
    ``new_ids`` fragment ids, and find the accounts of ``units`` (of ``orgs``, if given)."""
    unit_list = sorted(set(units))
    if len(fragment_ids) > _FEW or len(unit_list) > _FEW:
        spent = certs.spend_many(conn, fragment_ids)
        fresh = certs.next_fragment_ids(conn, new_ids)
        found = account_repo.account_ids(conn, unit_list, codes=ACCOUNT_CODES, orgs=orgs)
        return spent, fresh, found
    accounts_sql, accounts_params = account_repo.account_ids_query(
        conn, unit_list, codes=ACCOUNT_CODES, orgs=orgs
    )
    results: list[Any] = driver_sql.pipelined(
        conn,
        [
            certs.spend_query(fragment_ids),
            certs.next_fragment_ids_query(conn, new_ids),
            (accounts_sql, accounts_params),
        ],
    )
    spent = results[0] == len(fragment_ids)
    fresh = certs.read_next_ids(conn, results[1], new_ids)
    found = {(r[1], r[2], r[3]): int(r[0]) for r in results[2]}
    return spent, fresh, found
