"""committees declare the concern categories they handle; urgent tickets escalate once; trust
alerts are told once per group and period

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-06 05:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'committeecategory',
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('committee_id', sa.BigInteger(), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('category'),
    )
    op.create_table(
        'trustalert',
        sa.Column('stakeholder_group', sa.String(length=40), nullable=False),
        sa.Column('period', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('stakeholder_group', 'period'),
    )
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('escalated_at')
    op.drop_table('trustalert')
    op.drop_table('committeecategory')
