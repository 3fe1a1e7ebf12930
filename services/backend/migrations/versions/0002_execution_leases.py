"""Execution leases: what a worker or the reaper needs to take over a run whose worker died.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions") as table:   # batch: SQLite alters by copying
        table.add_column(sa.Column("signal", sa.JSON(), nullable=True))
        table.add_column(sa.Column("lock_token", sa.String(64), nullable=True))
        table.add_column(sa.Column("task_id", sa.String(64), nullable=True))
        table.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_executions_lease_expires_at", "executions", ["lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_executions_lease_expires_at", "executions")
    with op.batch_alter_table("executions") as table:
        for column in ("lease_expires_at", "task_id", "lock_token", "signal"):
            table.drop_column(column)
