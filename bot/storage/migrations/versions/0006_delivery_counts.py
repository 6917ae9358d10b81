"""delivery counts that survive a change of leader

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 20:15:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = ('sent', 'retried', 'failed', 'skipped', 'rate_limited')


def upgrade() -> None:
    table = op.create_table('deliverycount',
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('outcome')
    )
    op.bulk_insert(table, [{'outcome': outcome, 'total': 0} for outcome in OUTCOMES])


def downgrade() -> None:
    op.drop_table('deliverycount')
