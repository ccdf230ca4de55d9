"""inbox: message inbox state, message event hand-over table, sealed API keys for HMAC

Revision ID: 0002_h11
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models._types

revision = "0002_h11"
down_revision = "0002_h18"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_seen_date", store.models._types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("archived_at", store.models._types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("snoozed_until", store.models._types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subscriber_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", store.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("message_events")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("first_seen_date")
