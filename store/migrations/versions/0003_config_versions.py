"""config_versions and the triggers that bump it (the API's cache of trigger configuration)

Revision ID: 0003_config_versions
Revises: 0002_h17
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.config_versions import drop_statements, trigger_statements

revision = "0003_config_versions"
down_revision = "0002_h17"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("environment_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("environment_id"),
    )
    for statement in trigger_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("config_versions")
