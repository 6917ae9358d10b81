"""caucus rounds: a stakeholder group's own round (seats, anonymous entries and reactions)

Revision ID: 0019
Revises: 0023
Create Date: 2026-12-06 05:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('caucus_round',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stakeholder_group', sa.String(length=40), nullable=False),
    sa.Column('committee_id', sa.BigInteger(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_by', sa.BigInteger(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('joint_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], ),
    sa.ForeignKeyConstraint(['opened_by'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('caucus_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caucus_round_committee_id'), ['committee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_caucus_round_status'), ['status'], unique=False)
    op.create_table('caucus_seat',
    sa.Column('round_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('reacted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['caucus_round.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'member_id')
    )
    op.create_table('caucus_entry',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('round_id', sa.BigInteger(), nullable=False),
    sa.Column('respondent', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('quotable', sa.Boolean(), nullable=False),
    sa.Column('added', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['caucus_round.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('caucus_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caucus_entry_round_id'), ['round_id'], unique=False)
    op.create_table('caucus_reaction',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('round_id', sa.BigInteger(), nullable=False),
    sa.Column('reaction', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['caucus_round.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('caucus_reaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caucus_reaction_round_id'), ['round_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('caucus_reaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caucus_reaction_round_id'))
    op.drop_table('caucus_reaction')
    with op.batch_alter_table('caucus_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caucus_entry_round_id'))
    op.drop_table('caucus_entry')
    op.drop_table('caucus_seat')
    with op.batch_alter_table('caucus_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caucus_round_status'))
        batch_op.drop_index(batch_op.f('ix_caucus_round_committee_id'))
    op.drop_table('caucus_round')
