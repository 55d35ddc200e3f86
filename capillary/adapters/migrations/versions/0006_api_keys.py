"""API keys: each organization's keys, kept as the SHA-256 digest of their secret.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ORG = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("org", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("scopes", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
    )
    op.create_index("ix_api_keys_org", "api_keys", ["org", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_org", "api_keys")
    op.drop_table("api_keys")
