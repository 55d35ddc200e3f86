"""SQLAlchemy Core tables of the trade schema (created by migration 0002; this module only
describes them for queries)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("name", sa.String),
    sa.Column("id_scheme", sa.String),
    sa.Column("id_value", sa.String),
    sa.Column("roles", sa.String),
    sa.Column("tolerance_percent", sa.String),
    sa.Column("tolerance_absolute", sa.BigInteger),
    sa.Column("created_at", sa.BigInteger),
    sa.Column("industry", sa.String),
)

trade_relationships = sa.Table(
    "trade_relationships",
    metadata,
    sa.Column("buyer", sa.String, primary_key=True),
    sa.Column("supplier", sa.String, primary_key=True),
    sa.Column("status", sa.String),
    sa.Column("created_at", sa.BigInteger),
)

purchase_orders = sa.Table(
    "purchase_orders",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("buyer", sa.String),
    sa.Column("supplier", sa.String),
    sa.Column("number", sa.String),
    sa.Column("currency", sa.String),
    sa.Column("order_date", sa.Date),
    sa.Column("expected_date", sa.Date),
    sa.Column("status", sa.String),
    sa.Column("version", sa.Integer),
    sa.Column("created_at", sa.BigInteger),
)

order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("order_id", ID, primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("item", sa.String),
    sa.Column("description", sa.String),
    sa.Column("quantity", sa.String),
    sa.Column("uom", sa.String),
    sa.Column("unit_price", sa.String),
    sa.Column("tax_rate", sa.String),
)

order_versions = sa.Table(
    "order_versions",
    metadata,
    sa.Column("order_id", ID, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("snapshot", sa.Text),
    sa.Column("reason", sa.String),
    sa.Column("actor", sa.String),
    sa.Column("at", sa.BigInteger),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("order_id", ID),
    sa.Column("buyer", sa.String),
    sa.Column("supplier", sa.String),
    sa.Column("number", sa.String),
    sa.Column("delivered_on", sa.Date),
    sa.Column("status", sa.String),
    sa.Column("created_at", sa.BigInteger),
)

delivery_lines = sa.Table(
    "delivery_lines",
    metadata,
    sa.Column("delivery_id", ID, primary_key=True),
    sa.Column("order_line_no", sa.Integer, primary_key=True),
    sa.Column("quantity", sa.String),
    sa.Column("accepted", sa.String),
    sa.Column("rejected", sa.String),
)

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("seller", sa.String),
    sa.Column("buyer", sa.String),
    sa.Column("code", sa.String),
    sa.Column("number", sa.String),
    sa.Column("order_number", sa.String),
    sa.Column("order_id", ID),
    sa.Column("currency", sa.String),
    sa.Column("issue_date", sa.Date),
    sa.Column("amount", sa.BigInteger),
    sa.Column("tax", sa.BigInteger),
    sa.Column("total", sa.BigInteger),
    sa.Column("status", sa.String),
    sa.Column("exceptions", sa.Text),
    sa.Column("created_at", sa.BigInteger),
)

invoice_lines = sa.Table(
    "invoice_lines",
    metadata,
    sa.Column("invoice_id", ID, primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("order_line_no", sa.Integer),
    sa.Column("quantity", sa.String),
    sa.Column("unit_price", sa.String),
    sa.Column("amount", sa.BigInteger),
    sa.Column("tax_rate", sa.String),
    sa.Column("tax", sa.BigInteger),
)

payables = sa.Table(
    "payables",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("invoice_id", ID),
    sa.Column("buyer", sa.String),
    sa.Column("supplier", sa.String),
    sa.Column("currency", sa.String),
    sa.Column("amount", sa.BigInteger),
    sa.Column("open_amount", sa.BigInteger),
    sa.Column("due_date", sa.Date),
    sa.Column("status", sa.String),
    sa.Column("override_reason", sa.String),
    sa.Column("created_at", sa.BigInteger),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("entity", sa.String),
    sa.Column("entity_key", sa.String),
    sa.Column("action", sa.String),
    sa.Column("actor", sa.String),
    sa.Column("at", sa.BigInteger),
    sa.Column("detail", sa.Text),
)
