"""commitments register: commitments, delivery check-ins, anonymous tallies, variations

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 05:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('commitment',
    sa.Column('id', ID, nullable=False),
    sa.Column('owner_org', sa.String(length=200), nullable=False),
    sa.Column('owner_member_id', sa.BigInteger(), nullable=True),
    sa.Column('what', sa.String(length=500), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('beneficiary', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_member_id'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_owner_org'), ['owner_org'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitment_status'), ['status'], unique=False)
    op.create_table('commitmentupdate',
    sa.Column('id', ID, nullable=False),
    sa.Column('commitment_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('commitmentupdate', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_commitmentupdate_commitment_id'), ['commitment_id'], unique=False
        )
    op.create_table('commitmentprompt',
    sa.Column('commitment_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('commitment_id', 'member_id', 'purpose', 'due_on')
    )
    op.create_table('commitmenttally',
    sa.Column('commitment_id', sa.BigInteger(), nullable=False),
    sa.Column('raters', sa.Integer(), nullable=False),
    sa.Column('delivery_sum', sa.Integer(), nullable=False),
    sa.Column('spirit_sum', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('commitment_id')
    )
    op.create_table('variation',
    sa.Column('id', ID, nullable=False),
    sa.Column('commitment_id', sa.BigInteger(), nullable=False),
    sa.Column('proposed_by', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('new_due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('variation', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_variation_commitment_id'), ['commitment_id'], unique=False
        )
        batch_op.create_index(batch_op.f('ix_variation_status'), ['status'], unique=False)
    op.create_table('variationresponse',
    sa.Column('variation_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('choice', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['variation_id'], ['variation.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('variation_id', 'member_id')
    )


def downgrade() -> None:
    op.drop_table('variationresponse')
    with op.batch_alter_table('variation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variation_status'))
        batch_op.drop_index(batch_op.f('ix_variation_commitment_id'))
    op.drop_table('variation')
    op.drop_table('commitmenttally')
    op.drop_table('commitmentprompt')
    with op.batch_alter_table('commitmentupdate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitmentupdate_commitment_id'))
    op.drop_table('commitmentupdate')
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitment_status'))
        batch_op.drop_index(batch_op.f('ix_commitment_owner_org'))
    op.drop_table('commitment')
