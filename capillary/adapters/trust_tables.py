"""SQLAlchemy Core tables of the trust boundary (created by migration 0004)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

platform = sa.Table(
    "platform", metadata,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("kind", sa.String),
    sa.Column("timezone", sa.String), sa.Column("operator", sa.String),
    sa.Column("clock_us", sa.BigInteger), sa.Column("created_at", sa.BigInteger),
)  # fmt: skip
idempotency = sa.Table(
    "idempotency", metadata,
    sa.Column("org", sa.String, primary_key=True), sa.Column("key", sa.String, primary_key=True),
    sa.Column("use_case", sa.String), sa.Column("request_hash", sa.String),
    sa.Column("result", sa.LargeBinary), sa.Column("created_at", sa.BigInteger),
)  # fmt: skip
financing_offers = sa.Table(
    "financing_offers", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("fragment_id", ID),
    sa.Column("seller", sa.String), sa.Column("funder", sa.String),
    sa.Column("proposer", sa.String), sa.Column("currency", sa.String),
    sa.Column("amount", sa.BigInteger),
    sa.Column("rate", sa.String), sa.Column("day_count", sa.String),
    sa.Column("fee_rate", sa.String), sa.Column("recourse", sa.Boolean),
    sa.Column("status", sa.String), sa.Column("created_at", sa.BigInteger),
    sa.Column("closed_at", sa.BigInteger), sa.Column("ledger_tx", sa.BigInteger),
)  # fmt: skip
api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.String, primary_key=True), sa.Column("org", sa.String),
    sa.Column("name", sa.String), sa.Column("scopes", sa.String),
    sa.Column("secret_hash", sa.LargeBinary), sa.Column("created_at", sa.BigInteger),
    sa.Column("created_by", sa.String), sa.Column("revoked_at", sa.BigInteger),
    sa.Column("revoked_by", sa.String),
)  # fmt: skip
