"""The marketplace's book: holders' financing requests, funders' quotes on them, and the
fills that executed them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ORG = sa.String(64)
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "market_requests",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("holder", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("fragment_id", ID, sa.ForeignKey("fragments.id"), nullable=False),
        sa.Column("obligor", ORG, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("filled", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("max_rate", sa.String(20), nullable=False),
        sa.Column("recourse", sa.String(8), nullable=False),  # any | with | without
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.CheckConstraint("filled >= 0 AND filled <= amount", name="ck_market_requests_filled"),
    )
    op.create_index("ix_market_requests_holder", "market_requests", ["holder", "id"])
    op.create_index("ix_market_requests_obligor", "market_requests", ["obligor", "status", "id"])
    op.create_table(
        "market_quotes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("request_id", ID, sa.ForeignKey("market_requests.id"), nullable=False),
        sa.Column("funder", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("rate", sa.String(20), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("filled", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("recourse", sa.Boolean, nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.CheckConstraint("filled >= 0 AND filled <= amount", name="ck_market_quotes_filled"),
    )
    op.create_index("ix_market_quotes_request", "market_quotes", ["request_id", "id"])
    op.create_table(
        "market_fills",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("request_id", ID, sa.ForeignKey("market_requests.id"), nullable=False),
        sa.Column("quote_id", ID, sa.ForeignKey("market_quotes.id"), nullable=True),
        sa.Column("funder", ORG, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.String(20), nullable=False),
        sa.Column("fragment_id", ID, sa.ForeignKey("fragments.id"), nullable=False),
        sa.Column("ledger_tx", sa.BigInteger, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_market_fills_request", "market_fills", ["request_id", "id"])
    # An obligor's early-payment offer, and the holders' bids on it.
    op.create_table(
        "market_programmes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("obligor", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("cash", sa.BigInteger, nullable=False),
        sa.Column("used", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("hurdle", sa.String(20), nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_rate", sa.String(20), nullable=True),  # the last clearing's APR
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.CheckConstraint("used >= 0 AND used <= cash", name="ck_market_programmes_used"),
    )
    op.create_index("ix_market_programmes_obligor", "market_programmes", ["obligor", "id"])
    op.create_table(
        "market_bids",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("programme_id", ID, sa.ForeignKey("market_programmes.id"), nullable=False),
        sa.Column("holder", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("fragment_id", ID, sa.ForeignKey("fragments.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("apr", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("face_cleared", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("paid", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_market_bids_programme", "market_bids", ["programme_id", "status", "id"])


def downgrade() -> None:
    op.drop_table("market_bids")
    op.drop_table("market_programmes")
    op.drop_table("market_fills")
    op.drop_table("market_quotes")
    op.drop_table("market_requests")
