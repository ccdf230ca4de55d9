"""recurring schedules, translations, subscriber delivery schedules

Revision ID: 0002_h17
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models._types


revision = '0002_h17'
down_revision = '0002_h14'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recurring_schedules',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('environment_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('workflow_identifier', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('to', sa.JSON(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('repeat', sa.JSON(), nullable=True),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('start_at', store.models._types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_at', store.models._types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', store.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['environment_id'], ['environments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment_id', 'key')
    )
    with op.batch_alter_table('recurring_schedules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recurring_schedules_environment_id'), ['environment_id'], unique=False)

    op.create_table('translations',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('environment_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('resource_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('resource_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=True),
    sa.Column('created_at', store.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models._types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['environment_id'], ['environments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment_id', 'resource_type', 'resource_id', 'locale')
    )
    with op.batch_alter_table('translations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_translations_environment_id'), ['environment_id'], unique=False)

    with op.batch_alter_table('subscriber_preferences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscriber_preferences', schema=None) as batch_op:
        batch_op.drop_column('schedule')
    with op.batch_alter_table('translations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_translations_environment_id'))
    op.drop_table('translations')
    with op.batch_alter_table('recurring_schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recurring_schedules_environment_id'))
    op.drop_table('recurring_schedules')
