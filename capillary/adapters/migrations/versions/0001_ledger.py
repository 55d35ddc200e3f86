"""The double-entry ledger: units, accounts, transactions, postings, journal seals.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("transactions", "postings", "journal_seals")


def _fk(target: str) -> tuple[sa.ForeignKey, ...]:
    """A foreign key on SQLite, where it is a cheap lookup. On PostgreSQL a foreign key is a
    trigger per row; there the postings trigger checks the same and more, once per statement
    (see _postgresql_guards)."""
    return () if op.get_bind().dialect.name == "postgresql" else (sa.ForeignKey(target),)


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("exponent", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.CheckConstraint("kind IN ('currency', 'instrument')", name="ck_units_kind"),
        sa.CheckConstraint("exponent BETWEEN 0 AND 18", name="ck_units_exponent"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("org", sa.String(128), nullable=False),
        sa.Column("unit", sa.String(64), sa.ForeignKey("units.code"), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("code", sa.String(128), nullable=False),
        sa.Column("balance_constraint", sa.String(40), nullable=False),
        sa.Column("metadata", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("debits_posted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("credits_posted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("debits_pending", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("credits_pending", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("org", "unit", "code", name="uq_accounts_org_unit_code"),
        sa.CheckConstraint(
            "balance_constraint IN ('none', 'debits_must_not_exceed_credits', "
            "'credits_must_not_exceed_debits')",
            name="ck_accounts_constraint_kind",
        ),
        sa.CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 "
            "AND credits_pending >= 0",
            name="ck_accounts_nonnegative",
        ),
        # The database refuses a broken balance constraint even if a code path forgot to.
        sa.CheckConstraint(
            "balance_constraint <> 'debits_must_not_exceed_credits' "
            "OR debits_posted + debits_pending <= credits_posted",
            name="ck_accounts_debits_within_credits",
        ),
        sa.CheckConstraint(
            "balance_constraint <> 'credits_must_not_exceed_debits' "
            "OR credits_posted + credits_pending <= debits_posted",
            name="ck_accounts_credits_within_debits",
        ),
    )
    op.create_index("ix_accounts_org", "accounts", ["org"])
    op.create_table(
        "transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("posted_at", sa.BigInteger, nullable=False),
        sa.Column("ref", sa.String(256), nullable=True),
        sa.Column("metadata", sa.Text, nullable=True),
        sa.Column("pending_id", sa.BigInteger, nullable=True),
        sa.Column("reverses_id", sa.BigInteger, nullable=True),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.Column("leg_count", sa.Integer, nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_transactions_idempotency_key"),
        sa.CheckConstraint(
            "kind IN ('posted', 'pending', 'post_pending', 'void_pending', "
            "'expire_pending', 'reversal')",
            name="ck_transactions_kind",
        ),
        sa.CheckConstraint(
            "(kind IN ('void_pending', 'expire_pending') AND leg_count = 0) "
            "OR (kind NOT IN ('void_pending', 'expire_pending') AND leg_count >= 2)",
            name="ck_transactions_leg_count",
        ),
    )
    # A pending transaction is resolved (posted, voided or expired) at most once, and a
    # transaction is reversed at most once: the database itself says so. Partial indexes, so
    # that the many transactions that link to nothing cost nothing.
    for column in ("pending_id", "reverses_id"):
        op.create_index(
            f"uq_transactions_{column}",
            "transactions",
            [column],
            unique=True,
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )
    op.create_index(
        "ix_transactions_open_holds",
        "transactions",
        ["expires_at"],
        postgresql_where=sa.text("kind = 'pending'"),
        sqlite_where=sa.text("kind = 'pending'"),
    )
    op.create_table(
        "postings",
        sa.Column("transaction_id", sa.BigInteger, *_fk("transactions.id"), primary_key=True),
        sa.Column("leg", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.BigInteger, *_fk("accounts.id"), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.CheckConstraint("side IN ('D', 'C')", name="ck_postings_side"),
        sa.CheckConstraint("amount > 0", name="ck_postings_amount"),
        sa.CheckConstraint("leg >= 0", name="ck_postings_leg"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_postings_account", "postings", ["account_id", "transaction_id"])
    op.create_table(
        "journal_seals",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("transaction_id", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("chain", sa.LargeBinary(32), nullable=False),
        sa.Column("sealed_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("transaction_id", name="uq_journal_seals_transaction"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_guards()
    else:
        _sqlite_guards()


def _sqlite_guards() -> None:
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _postgresql_guards() -> None:
    op.execute(
        """
        CREATE FUNCTION capillary_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = '55000';
        END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION capillary_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION capillary_append_only()"
        )
    # At commit, every transaction that gained a posting has exactly its declared legs and
    # debits equal to credits in each unit. Legs 0 and 1 always exist (two at least), so
    # checking on leg 0 and on any leg from 2 up covers every insert, including a leg slipped
    # into an old transaction, while a two-leg transaction costs one check, not two.
    # Every statement that inserts postings must carry each transaction it touches whole:
    # exactly its declared legs, numbered 0 … leg_count − 1, on existing accounts of the legs'
    # units, balanced in each unit; otherwise the database refuses the statement. Because
    # (transaction_id, leg) is the primary key, a later statement cannot add legs to a
    # transaction either: it would have to bring a leg 0 again. Set-based over the
    # statement's transition table: one query per batch. (A deferred per-row constraint
    # trigger did the same check at ~27 µs per transaction, measured; this costs ~6 µs. Our
    # writers insert all legs of a batch in one statement, so nothing needs it deferred.)
    op.execute(
        """
        CREATE FUNCTION capillary_check_postings() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          bad bigint;
        BEGIN
          SELECT s.transaction_id INTO bad FROM (
              SELECT n.transaction_id, count(*) AS legs, count(a.id) AS valid,
                     min(n.leg) AS first_leg, max(n.leg) AS last_leg,
                     sum(CASE WHEN n.side = 'D' THEN n.amount ELSE -n.amount END) AS net
              FROM new_postings n
              LEFT JOIN accounts a ON a.id = n.account_id AND a.unit = n.unit
              GROUP BY n.transaction_id, n.unit) s
            LEFT JOIN transactions t ON t.id = s.transaction_id
            GROUP BY s.transaction_id, t.leg_count
            HAVING t.leg_count IS NULL OR sum(s.legs) <> t.leg_count
                OR min(s.first_leg) <> 0 OR max(s.last_leg) <> t.leg_count - 1
                OR sum(s.valid) <> sum(s.legs) OR bool_or(s.net <> 0)
            LIMIT 1;
          IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'transaction % is unbalanced, incomplete or posts to an unknown '
              'account', bad USING ERRCODE = '23514';
          END IF;
          RETURN NULL;
        END $$
        """
    )
    # plpgsql plans the query once per session and keeps the plan: made while the tables
    # were small, it would seq-scan transactions for every statement ever after (measured:
    # the write of a 10,000 batch crept from 0.10 s to 0.28 s over a million transactions
    # in one session). Without seq scans on the table side the plan probes by primary key
    # whatever the statistics said when it was made.
    op.execute("ALTER FUNCTION capillary_check_postings() SET enable_seqscan = off")
    op.execute(
        "CREATE TRIGGER postings_balanced AFTER INSERT ON postings "
        "REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT "
        "EXECUTE FUNCTION capillary_check_postings()"
    )


def downgrade() -> None:
    for table in ("journal_seals", "postings", "transactions", "accounts", "units"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS capillary_check_postings()")
        op.execute("DROP FUNCTION IF EXISTS capillary_append_only()")
