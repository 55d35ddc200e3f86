"""Scoring's records: the scorecards fitted on the platform's data, each with its model card
(data window, features, metrics, date) and a version, at most one active; and the scores the
active model gave every organization as of a day (score, PD, grade, reason codes).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ORG = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "score_models",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("as_of", sa.Date, nullable=False),  # the features' day
        sa.Column("horizon_days", sa.Integer, nullable=False),  # the outcome window after it
        sa.Column("card", sa.Text, nullable=False),  # JSON: the model card
        sa.Column("model", sa.Text, nullable=False),  # JSON: bins, coefficients, scaling
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("scored_on", sa.Date, nullable=True),  # its latest run's day
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_score_models_active", "score_models", ["active"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))  # fmt: skip
    op.create_table(
        "scores",
        sa.Column(
            "model_version", sa.Integer, sa.ForeignKey("score_models.version"), primary_key=True
        ),
        sa.Column("org", ORG, primary_key=True),  # a model's scores of one, by day
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("score", sa.Float, nullable=False),  # points, not money
        sa.Column("pd", sa.Float, nullable=False),
        sa.Column("grade", sa.String(16), nullable=False),
        sa.Column("reasons", sa.String(500), nullable=False),  # features, space-separated
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scores")
    op.drop_index("ix_score_models_active", "score_models")
    op.drop_table("score_models")
