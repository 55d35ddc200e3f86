"""Console users: each organization's users with their role and argon2id password hash,
their sessions (kept as the SHA-256 of the cookie's token, with the CSRF token of the
forms), and the failed sign-ins that throttle a login name.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ORG = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("org", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("login", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("locale", sa.String(8), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'staff', 'read_only')", name="ck_users_role"),
    )
    op.create_index("ix_users_org", "users", ["org", "login"])
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("seen_at", sa.BigInteger, nullable=False),
        sa.Column("ended", sa.Boolean, nullable=False),
    )
    op.create_index("ix_console_sessions_user", "console_sessions", ["user_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_login_failures_login", "login_failures", ["login", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_login", "login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_console_sessions_user", "console_sessions")
    op.drop_table("console_sessions")
    op.drop_index("ix_users_org", "users")
    op.drop_table("users")
