"""Pipelines and their executions.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("tickers", sa.JSON(), nullable=False),
        sa.Column("trigger_mode", sa.String(16), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),
        sa.Column("agents", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("pipeline_id", sa.Integer(),
                  sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger_mode", sa.String(16), nullable=False),
        sa.Column("signal_id", sa.String(64), nullable=True),
        sa.Column("ticker", sa.String(16), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.UniqueConstraint("pipeline_id", "signal_id", name="uq_execution_signal"),
    )
    op.create_index("ix_executions_pipeline_id", "executions", ["pipeline_id"])
    op.create_index("ix_executions_status", "executions", ["status"])
    op.create_index("ix_executions_signal_id", "executions", ["signal_id"])
    op.create_index("ix_executions_trace_id", "executions", ["trace_id"])


def downgrade() -> None:
    op.drop_table("executions")
    op.drop_table("pipelines")
