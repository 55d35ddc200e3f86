"""Participants and the digitized trade: organizations, relationships, orders, deliveries,
invoices, payables, and the audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
ORG = sa.String(64)
DECIMAL = sa.String(40)  # exact decimals as text: quantities, unit prices, rates


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("code", ORG, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("id_scheme", sa.String(20), nullable=False),
        sa.Column("id_value", sa.String(64), nullable=False),
        sa.Column("roles", sa.String(100), nullable=False),
        sa.Column("tolerance_percent", DECIMAL, nullable=False, server_default="0"),
        sa.Column("tolerance_absolute", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("id_scheme", "id_value", name="uq_organizations_identifier"),
    )
    op.create_table(
        "trade_relationships",
        sa.Column("buyer", ORG, sa.ForeignKey("organizations.code"), primary_key=True),
        sa.Column("supplier", ORG, sa.ForeignKey("organizations.code"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="ck_relationship_status"),
        sa.CheckConstraint("buyer <> supplier", name="ck_relationship_parties"),
    )
    op.create_table(
        "purchase_orders",
        sa.Column("id", ID, primary_key=True),
        sa.Column("buyer", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("supplier", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("order_date", sa.Date, nullable=False),
        sa.Column("expected_date", sa.Date, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("buyer", "number", name="uq_orders_buyer_number"),
        sa.CheckConstraint("status IN ('open', 'cancelled')", name="ck_order_status"),
    )
    op.create_index("ix_orders_supplier", "purchase_orders", ["supplier"])
    op.create_table(
        "order_lines",
        sa.Column("order_id", ID, sa.ForeignKey("purchase_orders.id"), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("quantity", DECIMAL, nullable=False),
        sa.Column("uom", sa.String(16), nullable=False),
        sa.Column("unit_price", DECIMAL, nullable=False),
        sa.Column("tax_rate", DECIMAL, nullable=False),
    )
    # Every version of an order, the first included: amendments and cancellation keep history.
    op.create_table(
        "order_versions",
        sa.Column("order_id", ID, sa.ForeignKey("purchase_orders.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", ID, primary_key=True),
        sa.Column("order_id", ID, sa.ForeignKey("purchase_orders.id"), nullable=False),
        sa.Column("buyer", ORG, nullable=False),
        sa.Column("supplier", ORG, nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("delivered_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("supplier", "number", name="uq_deliveries_supplier_number"),
        sa.CheckConstraint("status IN ('received', 'accepted')", name="ck_delivery_status"),
    )
    op.create_index("ix_deliveries_order", "deliveries", ["order_id"])
    op.create_table(
        "delivery_lines",
        sa.Column("delivery_id", ID, sa.ForeignKey("deliveries.id"), primary_key=True),
        sa.Column("order_line_no", sa.Integer, primary_key=True),
        sa.Column("quantity", DECIMAL, nullable=False),
        sa.Column("accepted", DECIMAL, nullable=True),
        sa.Column("rejected", DECIMAL, nullable=True),
    )
    op.create_table(
        "invoices",
        sa.Column("id", ID, primary_key=True),
        sa.Column("seller", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("buyer", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        # '' for a fully digital e-invoice, which has no code (NULLs would not be unique).
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("order_number", sa.String(64), nullable=False),
        sa.Column("order_id", ID, sa.ForeignKey("purchase_orders.id"), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("tax", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exceptions", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        # A seller never issues the same invoice number twice: the database says so too.
        sa.UniqueConstraint("seller", "code", "number", name="uq_invoices_seller_number"),
        sa.CheckConstraint("total = amount + tax", name="ck_invoice_total"),
        sa.CheckConstraint(
            "status IN ('received', 'matched', 'exceptions', 'confirmed')",
            name="ck_invoice_status",
        ),
    )
    op.create_index("ix_invoices_order", "invoices", ["order_id"])
    op.create_index("ix_invoices_buyer", "invoices", ["buyer", "status"])
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", ID, sa.ForeignKey("invoices.id"), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("order_line_no", sa.Integer, nullable=False),
        sa.Column("quantity", DECIMAL, nullable=False),
        sa.Column("unit_price", DECIMAL, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("tax_rate", DECIMAL, nullable=False),
        sa.Column("tax", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "payables",
        sa.Column("id", ID, primary_key=True),
        sa.Column("invoice_id", ID, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("buyer", ORG, nullable=False),
        sa.Column("supplier", ORG, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("open_amount", sa.BigInteger, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("override_reason", sa.String(500), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("invoice_id", name="uq_payables_invoice"),
        sa.CheckConstraint(
            "open_amount >= 0 AND open_amount <= amount", name="ck_payable_open_amount"
        ),
    )
    op.create_index("ix_payables_buyer", "payables", ["buyer"])
    op.create_table(
        "audit_log",
        sa.Column("id", ID, primary_key=True),
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("entity_key", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_audit_entity", "audit_log", ["entity", "entity_key", "id"])
    for table in ("audit_log", "order_versions"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION capillary_append_only()"
            )
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} "
                    f"ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    for table in (
        "audit_log",
        "payables",
        "invoice_lines",
        "invoices",
        "delivery_lines",
        "deliveries",
        "order_versions",
        "order_lines",
        "purchase_orders",
        "trade_relationships",
        "organizations",
    ):
        op.drop_table(table)
