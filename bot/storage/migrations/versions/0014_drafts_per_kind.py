"""a member may keep one draft of each kind: the key is (member_id, kind); `touched` orders them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 02:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _draft_table(name: str, *key: str, touched: bool) -> None:
    columns = [sa.Column('touched', sa.BigInteger(), nullable=False)] if touched else []
    op.create_table(name,
    sa.Column('member_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    *columns,
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint(*key)
    )


def upgrade() -> None:
    _draft_table('draft_by_kind', 'member_id', 'kind', touched=True)
    op.execute(
        'INSERT INTO draft_by_kind (member_id, kind, data, updated_at, touched) '
        'SELECT member_id, kind, data, updated_at, 1 FROM draft'
    )
    op.drop_table('draft')
    op.rename_table('draft_by_kind', 'draft')


def downgrade() -> None:
    # One draft per member again: the most recently touched of each member's is kept.
    _draft_table('draft_single', 'member_id', touched=False)
    op.execute(
        'INSERT INTO draft_single (member_id, kind, data, updated_at) '
        'SELECT member_id, kind, data, updated_at FROM draft d WHERE NOT EXISTS ('
        'SELECT 1 FROM draft n WHERE n.member_id = d.member_id AND '
        '(n.touched > d.touched OR (n.touched = d.touched AND n.kind > d.kind)))'
    )
    op.drop_table('draft')
    op.rename_table('draft_single', 'draft')
