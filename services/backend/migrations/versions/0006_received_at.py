"""When the dispatcher received a run's signal: the time from origin splits into waiting in
Kafka and the dispatcher's own (services/shared/latency.py). Rows queued before it keep it
empty: their Kafka wait includes the dispatcher's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("received_at", sa.DateTime(timezone=True),
                                          nullable=True))


def downgrade() -> None:
    op.drop_column("executions", "received_at")
