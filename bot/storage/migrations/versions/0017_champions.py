"""champions: the register of each organisation's key people (lead and deputy)

Revision ID: 0017
Revises: 0022
Create Date: 2026-12-06 05:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('champion',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('org_key', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('appointed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('proposed_member_id', sa.BigInteger(), nullable=True),
    sa.Column('proposed_by', sa.BigInteger(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('quiet_alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposed_by'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposed_member_id'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_key', 'role', name='uq_champion_seat')
    )
    with op.batch_alter_table('champion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_champion_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('champion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_champion_member_id'))
    op.drop_table('champion')
