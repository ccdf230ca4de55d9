"""API keys keep an encrypted copy of the key (HMAC of subscriber ids: Inbox sessions, chat OAuth).

Revision ID: 0002_h13b
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002_h13b'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_encrypted', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('key_encrypted')
