"""Events: the outbox, organizations' webhook endpoints, their deliveries and attempts, and
the leases by which workers share the relay and the scheduled jobs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ORG = sa.String(64)
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    # The outbox: seq numbers events in the order they were written (append-only, so on
    # SQLite the rowid never goes back); id is the stable id receivers deduplicate by.
    op.create_table(
        "events",
        sa.Column("seq", ID, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(80), nullable=False, unique=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("orgs", sa.Text, nullable=False),  # JSON list of organization codes
        sa.Column("payload", sa.Text, nullable=False),  # JSON
        sa.Column("fanned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("published_at", sa.BigInteger, nullable=True),
    )
    op.create_index(
        "ix_events_unfanned",
        "events",
        ["seq"],
        sqlite_where=sa.text("NOT fanned"),
        postgresql_where=sa.text("NOT fanned"),
    )
    op.create_index(
        "ix_events_unpublished",
        "events",
        ["seq"],
        sqlite_where=sa.text("published_at IS NULL"),
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("org", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("types", sa.Text, nullable=False),  # JSON list; ["*"] for every type
        sa.Column("secret", sa.String(200), nullable=False),  # HMAC needs it in the clear
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("disabled_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_webhook_endpoints_org", "webhook_endpoints", ["org", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("endpoint_id", ID, sa.ForeignKey("webhook_endpoints.id"), nullable=False),
        sa.Column("event_seq", ID, sa.ForeignKey("events.seq"), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("next_at", sa.BigInteger, nullable=True),
        # Retries stop this long after window_from (its creation, or a replay by hand).
        sa.Column("window_from", sa.BigInteger, nullable=False),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("delivered_at", sa.BigInteger, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("last_latency_us", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("endpoint_id", "event_seq", name="uq_webhook_deliveries_event"),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_at", "id"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_order",
        "webhook_deliveries",
        ["endpoint_id", "subject", "event_seq"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_webhook_deliveries_log", "webhook_deliveries", ["endpoint_id", "id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", ID, sa.ForeignKey("webhook_deliveries.id"), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("latency_us", sa.BigInteger, nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])
    # A job one worker at a time runs (the stream relay, sealing, settlement): who holds it
    # until when, and when it last ran.
    op.create_table(
        "worker_leases",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(80), nullable=True),
        sa.Column("until", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_run", sa.String(40), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("worker_leases")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("events")
