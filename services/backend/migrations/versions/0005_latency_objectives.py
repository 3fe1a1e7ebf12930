"""A pipeline's latency objective: its runs start within so many ms of their origin, for so
large a share of them (either left empty: the platform's default applies).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pipelines", sa.Column("latency_objective_ms", sa.Integer(), nullable=True))
    op.add_column("pipelines", sa.Column("latency_objective_target", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("pipelines", "latency_objective_target")
    op.drop_column("pipelines", "latency_objective_ms")
