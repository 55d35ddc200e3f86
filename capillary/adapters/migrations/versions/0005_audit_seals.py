"""The audit trail chained like the journal: each sealed audit row's link in a hash chain,
so a rewritten or removed audit row is found by verify.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_seals",
        sa.Column("audit_id", ID, primary_key=True, autoincrement=False),
        sa.Column("chain", sa.LargeBinary(32), nullable=False),
        sa.Column("sealed_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_seals")
