"""each partner's objectives (Box 6.25 categories, indicator, baseline, target) and progress
ratings tied to one objective

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-06 05:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0021'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('objective',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('stakeholder_group', sa.String(length=40), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('statement', sa.String(), nullable=False),
    sa.Column('indicator', sa.String(), nullable=False),
    sa.Column('baseline', sa.String(), nullable=False),
    sa.Column('target', sa.String(), nullable=False),
    sa.Column('needs', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('objective', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objective_stakeholder_group'), ['stakeholder_group'], unique=False)
    op.create_table('objectiverating',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('objective_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('stakeholder_group', sa.String(length=40), nullable=True),
    sa.Column('rating', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['objective_id'], ['objective.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('objectiverating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objectiverating_objective_id'), ['objective_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('objectiverating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objectiverating_objective_id'))
    op.drop_table('objectiverating')
    with op.batch_alter_table('objective', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objective_stakeholder_group'))
    op.drop_table('objective')
