"""key ring, erasure log, consent prompts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 19:48:49.848183
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consentprompt',
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('shown_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tag')
    )
    with op.batch_alter_table('consentprompt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consentprompt_shown_at'), ['shown_at'], unique=False)

    op.create_table('erasure',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_tag', sa.String(length=64), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('erasure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_member_tag'), ['member_tag'], unique=False)

    op.create_table('keyring',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('erasure_key', sa.String(length=512), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('keyring')
    with op.batch_alter_table('erasure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasure_member_tag'))

    op.drop_table('erasure')
    with op.batch_alter_table('consentprompt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consentprompt_shown_at'))

    op.drop_table('consentprompt')
