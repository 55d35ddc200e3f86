"""Indexes the market's sweeps, caps and reports read by: a request by the fragment it sells
from (is this fragment offered already?), quotes by the standing rule that made them (what a
rule's fills use of its caps), and fills by the fragment they bought (was this fragment
bought in the market?).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_market_requests_fragment", "market_requests", ["fragment_id"])
    op.create_index("ix_market_quotes_rule", "market_quotes", ["rule_id"])
    op.create_index("ix_market_fills_fragment", "market_fills", ["fragment_id"])


def downgrade() -> None:
    op.drop_index("ix_market_fills_fragment", "market_fills")
    op.drop_index("ix_market_quotes_rule", "market_quotes")
    op.drop_index("ix_market_requests_fragment", "market_requests")
