"""Money between the platform and the banks: each organization's bank account per currency,
the payments queued for it and the pain.001 files that sent them, and the statement
entries a camt.053 import booked (a deposit, or one of our payments seen through).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ORG = sa.String(64)
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("org", ORG, primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("number", sa.String(34), nullable=False),
        sa.Column("bic", sa.String(11), nullable=False),
        sa.Column("holder", sa.String(140), nullable=False),
        sa.Column("sweep", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_bank_accounts_number", "bank_accounts", ["number", "currency"])
    op.create_table(
        "bank_files",
        sa.Column("message_id", sa.String(35), primary_key=True),
        sa.Column("run_key", sa.String(200), nullable=False),  # the run, idempotent by it
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("debtor_account", sa.String(34), nullable=False),
        sa.Column("payments", sa.Integer, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("document", sa.Text, nullable=False),  # the pain.001 as sent
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_bank_files_run", "bank_files", ["run_key"])
    op.create_table(
        "bank_payments",
        sa.Column("id", ID, primary_key=True),
        sa.Column("org", ORG, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # withdrawal | settlement
        sa.Column("reference", sa.String(140), nullable=False),
        sa.Column("ledger_tx", sa.BigInteger, nullable=False),  # cash → clearing
        sa.Column("creditor_number", sa.String(34), nullable=False),  # as on file then
        sa.Column("creditor_bic", sa.String(11), nullable=False),
        sa.Column("creditor_holder", sa.String(140), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),  # queued | sent | booked
        sa.Column("message_id", sa.String(35), sa.ForeignKey("bank_files.message_id")),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_bank_payments_status", "bank_payments", ["status", "currency", "id"])
    op.create_table(
        "bank_statement_entries",
        sa.Column("account", sa.String(34), primary_key=True),  # the platform's account
        sa.Column("reference", sa.String(35), primary_key=True),  # the bank's, per account
        sa.Column("statement_id", sa.String(35), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("credit", sa.Boolean, nullable=False),
        sa.Column("booked_on", sa.Date, nullable=False),
        sa.Column("org", ORG, nullable=True),  # a deposit's organization
        sa.Column("ledger_tx", sa.BigInteger, nullable=True),  # the deposit
        sa.Column("payment_id", sa.BigInteger, nullable=True),  # one of ours, booked
        sa.Column("imported_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bank_statement_entries")
    op.drop_index("ix_bank_payments_status", "bank_payments")
    op.drop_table("bank_payments")
    op.drop_index("ix_bank_files_run", "bank_files")
    op.drop_table("bank_files")
    op.drop_index("ix_bank_accounts_number", "bank_accounts")
    op.drop_table("bank_accounts")
