"""The marketplace's standing parts: the base rate the operator publishes, obligors' grades,
funders' standing quote rules, holders' standing requests, each execution's book (so a
request's fills can be replayed), an organization's industry, and fills from an obligor's
early-payment offer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ORG = sa.String(64)
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("organizations") as t:
        t.add_column(sa.Column("industry", sa.String(64), nullable=True))
    op.create_table(
        "market_base_rates",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),  # "1Y LPR"
        sa.Column("rate", sa.String(20), nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_market_base_rates", "market_base_rates", ["currency", "effective_on"])
    op.create_table(
        "credit_grades",
        sa.Column("obligor", ORG, sa.ForeignKey("organizations.code"), primary_key=True),
        sa.Column("grade", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "market_rules",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("funder", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("spreads", sa.Text, nullable=False),  # JSON {"A|0-30": "0.005", …}
        sa.Column("cap_per_obligor", sa.BigInteger, nullable=True),
        sa.Column("cap_per_tier", sa.BigInteger, nullable=True),
        sa.Column("cap_total", sa.BigInteger, nullable=True),
        sa.Column("recourse", sa.Boolean, nullable=False),
        sa.Column("obligors", sa.Text, nullable=False),  # space-separated; empty: any
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_market_rules_status", "market_rules", ["status", "currency", "id"])
    op.create_table(
        "market_standing",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("holder", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("obligor", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("max_rate", sa.String(20), nullable=True),
        sa.Column("flat_discount", sa.String(20), nullable=True),
        sa.Column("recourse", sa.String(8), nullable=False),
        sa.Column("days", sa.Integer, nullable=False),  # how long each request stays open
        sa.Column("after_fragment", ID, nullable=False),  # fragments received after this
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_market_standing", "market_standing", ["status", "holder", "id"])
    with op.batch_alter_table("market_requests") as t:
        t.add_column(sa.Column("standing_id", ID, nullable=True))
        t.add_column(sa.Column("origin_fragment", ID, nullable=True))
    op.create_index("ix_market_requests_origin", "market_requests", ["origin_fragment"])
    with op.batch_alter_table("market_quotes") as t:
        t.add_column(sa.Column("rule_id", ID, nullable=True))
    with op.batch_alter_table("market_fills") as t:
        t.add_column(sa.Column("programme_id", ID, nullable=True))
    op.create_table(
        "market_executions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("request_id", ID, sa.ForeignKey("market_requests.id"), nullable=False),
        sa.Column("book", sa.Text, nullable=False),  # JSON: the request, sources, pools
        sa.Column("fills", sa.Text, nullable=False),  # JSON: what best execution decided
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("executed_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_market_executions_request", "market_executions", ["request_id", "id"])


def downgrade() -> None:
    op.drop_table("market_executions")
    with op.batch_alter_table("market_fills") as t:
        t.drop_column("programme_id")
    with op.batch_alter_table("market_quotes") as t:
        t.drop_column("rule_id")
    op.drop_index("ix_market_requests_origin", "market_requests")
    with op.batch_alter_table("market_requests") as t:
        t.drop_column("origin_fragment")
        t.drop_column("standing_id")
    op.drop_table("market_standing")
    op.drop_table("market_rules")
    op.drop_table("credit_grades")
    op.drop_table("market_base_rates")
    with op.batch_alter_table("organizations") as t:
        t.drop_column("industry")
