"""decisions: proposals, who was asked, anonymous votes, and the polls the bot sent

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-06 08:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0026'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    op.create_table('decision',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('question', sa.String(length=300), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('custom', sa.Boolean(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('committee_id', sa.BigInteger(), nullable=True),
    sa.Column('audience', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_by', sa.BigInteger(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remind_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('asked', sa.Integer(), nullable=False),
    sa.Column('poll_outbox_id', sa.BigInteger(), nullable=True),
    sa.Column('poll_totals', sa.JSON(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('totals', sa.JSON(), nullable=True),
    sa.Column('result', sa.String(length=16), nullable=True),
    sa.Column('statement', sa.String(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opened_by'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_decision_status'), 'decision', ['status'], unique=False)
    op.create_table('decision_voter',
    sa.Column('decision_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('voted', sa.Boolean(), nullable=False),
    sa.Column('reminded', sa.Boolean(), nullable=False),
    sa.Column('option', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('decision_id', 'member_id')
    )
    op.create_table('decision_vote',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('decision_id', sa.BigInteger(), nullable=False),
    sa.Column('voter_tag', sa.String(length=64), nullable=False),
    sa.Column('option', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_decision_vote_decision_id'), 'decision_vote', ['decision_id'], unique=False)
    op.create_table('sent_poll',
    sa.Column('poll_id', sa.String(length=64), nullable=False),
    sa.Column('outbox_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('poll_id')
    )
    op.create_index(op.f('ix_sent_poll_outbox_id'), 'sent_poll', ['outbox_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sent_poll_outbox_id'), table_name='sent_poll')
    op.drop_table('sent_poll')
    op.drop_index(op.f('ix_decision_vote_decision_id'), table_name='decision_vote')
    op.drop_table('decision_vote')
    op.drop_table('decision_voter')
    op.drop_index(op.f('ix_decision_status'), table_name='decision')
    op.drop_table('decision')
