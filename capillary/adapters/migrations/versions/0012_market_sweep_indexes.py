"""Indexes the daily sweeps read by: a standing request's open requests (each sweep takes
the best the market offers on them; without the index every sweep scanned all requests),
and the open quotes by the day they lapse (the daily expiry scanned every quote ever made).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_market_requests_standing", "market_requests", ["standing_id", "status"])
    op.create_index("ix_market_quotes_open", "market_quotes", ["valid_until"],
                    sqlite_where=sa.text("status = 'open'"),
                    postgresql_where=sa.text("status = 'open'"))  # fmt: skip
    op.create_index("ix_market_requests_open", "market_requests", ["expires_on"],
                    sqlite_where=sa.text("status = 'open'"),
                    postgresql_where=sa.text("status = 'open'"))  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_market_requests_open", "market_requests")
    op.drop_index("ix_market_quotes_open", "market_quotes")
    op.drop_index("ix_market_requests_standing", "market_requests")
