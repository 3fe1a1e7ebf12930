"""Executions by time: the explorer lists the latest signals, newest first, within a window.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_executions_queued_at", "executions", ["queued_at"])


def downgrade() -> None:
    op.drop_index("ix_executions_queued_at", "executions")
