"""invitation links: per group or committee, counted, and the link each member joined through

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 03:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invite',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('stakeholder_group', sa.String(length=40), nullable=True),
    sa.Column('committee_id', sa.BigInteger(), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invite_id', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('consentprompt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invite_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('consentprompt', schema=None) as batch_op:
        batch_op.drop_column('invite_id')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('invite_id')
    op.drop_table('invite')
