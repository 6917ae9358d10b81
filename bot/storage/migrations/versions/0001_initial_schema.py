"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 13:19:33.906592
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('member',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('stakeholder_group', sa.String(length=40), nullable=True),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('role_title', sa.String(length=200), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_telegram_user_id'), ['telegram_user_id'], unique=True)

    op.create_table('processedupdate',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id')
    )
    with op.batch_alter_table('processedupdate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processedupdate_processed_at'), ['processed_at'], unique=False)

    op.create_table('flowrun',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('flow_id', sa.String(length=40), nullable=False),
    sa.Column('flow_version', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.String(length=40), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('selected', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('flowrun', schema=None) as batch_op:
        batch_op.create_index('ix_flowrun_member_status', ['member_id', 'status'], unique=False)

    op.create_table('answer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('flow_id', sa.String(length=40), nullable=False),
    sa.Column('question_key', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value_choice', sa.String(length=40), nullable=True),
    sa.Column('value_number', sa.Float(), nullable=True),
    sa.Column('value_text', sa.Text(), nullable=True),
    sa.Column('skipped', sa.Boolean(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('stakeholder_group', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['flowrun.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index('ix_answer_flow_question', ['flow_id', 'question_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_answer_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_answer_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_run_id'))
        batch_op.drop_index(batch_op.f('ix_answer_member_id'))
        batch_op.drop_index('ix_answer_flow_question')

    op.drop_table('answer')
    with op.batch_alter_table('flowrun', schema=None) as batch_op:
        batch_op.drop_index('ix_flowrun_member_status')

    op.drop_table('flowrun')
    with op.batch_alter_table('processedupdate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processedupdate_processed_at'))

    op.drop_table('processedupdate')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_telegram_user_id'))
        batch_op.drop_index(batch_op.f('ix_member_status'))

    op.drop_table('member')
