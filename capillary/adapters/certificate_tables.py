"""SQLAlchemy Core tables of credit and certificates (created by migration 0003)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

credit_lines = sa.Table(
    "credit_lines", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("funder", sa.String),
    sa.Column("obligor", sa.String), sa.Column("currency", sa.String),
    sa.Column("limit_amount", sa.BigInteger), sa.Column("used", sa.BigInteger),
    sa.Column("expires_on", sa.Date), sa.Column("created_at", sa.BigInteger),
)  # fmt: skip
issuance_limits = sa.Table(
    "issuance_limits", metadata,
    sa.Column("obligor", sa.String, primary_key=True),
    sa.Column("currency", sa.String, primary_key=True),
    sa.Column("limit_amount", sa.BigInteger), sa.Column("used", sa.BigInteger),
)  # fmt: skip
certificates = sa.Table(
    "certificates", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("number", sa.String),
    sa.Column("obligor", sa.String), sa.Column("first_holder", sa.String),
    sa.Column("currency", sa.String), sa.Column("face", sa.BigInteger),
    sa.Column("issue_date", sa.Date), sa.Column("maturity", sa.Date),
    sa.Column("status", sa.String), sa.Column("pending_tx", sa.BigInteger),
    sa.Column("created_at", sa.BigInteger),
)  # fmt: skip
certificate_payables = sa.Table(
    "certificate_payables", metadata,
    sa.Column("certificate_id", ID, primary_key=True),
    sa.Column("payable_id", ID, primary_key=True), sa.Column("amount", sa.BigInteger),
)  # fmt: skip
fragments = sa.Table(
    "fragments", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("certificate_id", ID),
    sa.Column("parent_id", ID), sa.Column("holder", sa.String),
    sa.Column("amount", sa.BigInteger), sa.Column("status", sa.String),
    sa.Column("tier", sa.Integer), sa.Column("path", sa.String),
    sa.Column("recourse_to", sa.String), sa.Column("created_at", sa.BigInteger),
)  # fmt: skip
financings = sa.Table(
    "financings", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("fragment_id", ID),
    sa.Column("seller", sa.String), sa.Column("funder", sa.String),
    sa.Column("face", sa.BigInteger), sa.Column("rate", sa.String),
    sa.Column("day_count", sa.String), sa.Column("days", sa.Integer),
    sa.Column("discount", sa.BigInteger), sa.Column("fee", sa.BigInteger),
    sa.Column("recourse", sa.Boolean), sa.Column("financed_on", sa.Date),
    sa.Column("ledger_tx", sa.BigInteger),
)  # fmt: skip
recourse_claims = sa.Table(
    "recourse_claims", metadata,
    sa.Column("id", ID, primary_key=True), sa.Column("fragment_id", ID),
    sa.Column("claimant", sa.String), sa.Column("debtor", sa.String),
    sa.Column("amount", sa.BigInteger), sa.Column("status", sa.String),
    sa.Column("created_at", sa.BigInteger),
)  # fmt: skip
calendar_overrides = sa.Table(
    "calendar_overrides", metadata,
    sa.Column("day", sa.Date, primary_key=True), sa.Column("business_day", sa.Boolean),
    sa.Column("reason", sa.String), sa.Column("actor", sa.String), sa.Column("at", sa.BigInteger),
)  # fmt: skip
