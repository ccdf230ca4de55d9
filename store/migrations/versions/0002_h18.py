"""v2 topics: topic updatedAt; subscription identifier, name, preferences, updatedAt

Revision ID: 0002_h18
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models._types

revision = "0002_h18"
down_revision = "0002_h13b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("updated_at", store.models._types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("topic_subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identifier", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("preferences", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("updated_at", store.models._types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_topic_subscribers_topic_identifier", ["topic_id", "identifier"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("topic_subscribers", schema=None) as batch_op:
        batch_op.drop_index("ix_topic_subscribers_topic_identifier")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("preferences")
        batch_op.drop_column("name")
        batch_op.drop_column("identifier")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
