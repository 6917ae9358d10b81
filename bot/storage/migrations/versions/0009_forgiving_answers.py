"""flow runs count misread answers and remember the message asking their open question

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 20:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('flowrun', schema=None) as batch_op:
        batch_op.add_column(sa.Column('misses', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('prompt_message_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('flowrun', schema=None) as batch_op:
        batch_op.drop_column('prompt_message_id')
        batch_op.drop_column('misses')
