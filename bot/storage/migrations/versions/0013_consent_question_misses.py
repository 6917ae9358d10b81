"""the consent question counts its misunderstandings like any other question

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 00:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('consentprompt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('misses', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('consentprompt', schema=None) as batch_op:
        batch_op.drop_column('misses')
