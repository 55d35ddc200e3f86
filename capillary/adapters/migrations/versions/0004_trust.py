"""The trust boundary: the platform (its kind, time zone and, for a sandbox, its clock),
idempotency records of every write use case, and financing offers agreed by both sides.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
ORG = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "platform",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("operator", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("clock_us", sa.BigInteger, nullable=True),  # a sandbox's stored clock
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_platform_single"),
        sa.CheckConstraint("kind IN ('sandbox', 'production')", name="ck_platform_kind"),
        sa.CheckConstraint("(kind = 'sandbox') = (clock_us IS NOT NULL)", name="ck_platform_clock"),
    )
    op.create_table(
        "idempotency",
        sa.Column("org", ORG, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("use_case", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("result", sa.LargeBinary, nullable=False),  # zlib-compressed JSON
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("org", "key", name="pk_idempotency"),
    )
    op.create_table(
        "financing_offers",
        sa.Column("id", ID, primary_key=True),
        sa.Column("fragment_id", ID, sa.ForeignKey("fragments.id"), nullable=False),
        sa.Column("seller", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("funder", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("proposer", ORG, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.String(32), nullable=False),
        sa.Column("day_count", sa.String(16), nullable=False),
        sa.Column("fee_rate", sa.String(32), nullable=False),
        sa.Column("recourse", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("closed_at", sa.BigInteger, nullable=True),
        sa.Column("ledger_tx", sa.BigInteger, nullable=True),
        sa.CheckConstraint("amount > 0", name="ck_offer_amount"),
        sa.CheckConstraint("status IN ('open', 'accepted', 'withdrawn')", name="ck_offer_status"),
        sa.CheckConstraint("proposer IN (seller, funder)", name="ck_offer_proposer"),
    )
    op.create_index("ix_offers_fragment", "financing_offers", ["fragment_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_offers_fragment", "financing_offers")
    for table in ("financing_offers", "idempotency", "platform"):
        op.drop_table(table)
