"""What a finished run's own time went to, as the worker measured it: its earlier attempts,
its claim and each agent (services/shared/latency.py, `RunTimings`), so the explorer's blame
splits a run's time without reading its trace. Rows finished before it keep it empty: their
run is one segment.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("timings", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("executions", "timings")
