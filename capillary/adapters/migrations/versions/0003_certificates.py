"""Credit and digital payable certificates: credit lines, issuance limits, certificates,
fragments, financings, recourse claims, and the operator's calendar overrides.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
ORG = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "credit_lines",
        sa.Column("id", ID, primary_key=True),
        sa.Column("funder", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("obligor", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("limit_amount", sa.BigInteger, nullable=False),
        sa.Column("used", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("funder", "obligor", "currency", name="uq_credit_lines"),
        # The database refuses an overdrawn line even if a code path forgot to check.
        sa.CheckConstraint("used >= 0 AND used <= limit_amount", name="ck_credit_used"),
    )
    op.create_table(
        "issuance_limits",
        sa.Column("obligor", ORG, sa.ForeignKey("organizations.code"), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("limit_amount", sa.BigInteger, nullable=False),
        sa.Column("used", sa.BigInteger, nullable=False, server_default="0"),
        sa.CheckConstraint("used >= 0 AND used <= limit_amount", name="ck_issuance_used"),
    )
    op.create_table(
        "certificates",
        sa.Column("id", ID, primary_key=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("obligor", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("first_holder", ORG, sa.ForeignKey("organizations.code"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("face", sa.BigInteger, nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("maturity", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending_tx", sa.BigInteger, nullable=True),  # the ledger hold until accepted
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("number", name="uq_certificates_number"),
        sa.CheckConstraint("face > 0", name="ck_certificate_face"),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'cancelled', 'settled', 'overdue')",
            name="ck_certificate_status",
        ),
    )
    op.create_index("ix_certificates_due", "certificates", ["status", "maturity"])
    op.create_table(
        "certificate_payables",
        sa.Column("certificate_id", ID, sa.ForeignKey("certificates.id"), primary_key=True),
        sa.Column("payable_id", ID, sa.ForeignKey("payables.id"), primary_key=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "fragments",
        sa.Column("id", ID, primary_key=True),
        sa.Column("certificate_id", ID, sa.ForeignKey("certificates.id"), nullable=False),
        sa.Column("parent_id", ID, sa.ForeignKey("fragments.id"), nullable=True),
        sa.Column("holder", ORG, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("recourse_to", ORG, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_fragment_amount"),
        sa.CheckConstraint(
            "status IN ('active', 'spent', 'settled', 'overdue', 'frozen')",
            name="ck_fragment_status",
        ),
    )
    op.create_index("ix_fragments_certificate", "fragments", ["certificate_id", "status"])
    op.create_index("ix_fragments_holder", "fragments", ["holder", "status"])
    op.create_table(
        "financings",
        sa.Column("id", ID, primary_key=True),
        sa.Column("fragment_id", ID, sa.ForeignKey("fragments.id"), nullable=False),
        sa.Column("seller", ORG, nullable=False),
        sa.Column("funder", ORG, nullable=False),
        sa.Column("face", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.String(20), nullable=False),
        sa.Column("day_count", sa.String(8), nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("discount", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("recourse", sa.Boolean, nullable=False),
        sa.Column("financed_on", sa.Date, nullable=False),
        sa.Column("ledger_tx", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("fragment_id", name="uq_financings_fragment"),
    )
    op.create_table(
        "recourse_claims",
        sa.Column("id", ID, primary_key=True),
        sa.Column("fragment_id", ID, sa.ForeignKey("fragments.id"), nullable=False),
        sa.Column("claimant", ORG, nullable=False),
        sa.Column("debtor", ORG, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("fragment_id", name="uq_recourse_fragment"),
    )
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("business_day", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "calendar_overrides",
        "recourse_claims",
        "financings",
        "fragments",
        "certificate_payables",
        "certificates",
        "issuance_limits",
        "credit_lines",
    ):
        op.drop_table(table)
