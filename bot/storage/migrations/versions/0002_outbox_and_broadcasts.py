"""outbox and broadcasts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:38:23.627593
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('broadcast',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('media_kind', sa.String(length=16), nullable=True),
    sa.Column('media_file_id', sa.String(length=255), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('send_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('progress_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('progress_message_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_status'), ['status'], unique=False)

    op.create_table('outboxmessage',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('broadcast_id', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reply_markup', sa.JSON(), nullable=True),
    sa.Column('media_file_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('telegram_message_id', sa.BigInteger(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcast.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxmessage_broadcast_id'), ['broadcast_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxmessage_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboxmessage_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.alter_column('value_text',
               existing_type=sa.TEXT(),
               type_=sa.Text(),
               existing_nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.alter_column('value_text',
               existing_type=sa.Text(),
               type_=sa.TEXT(),
               existing_nullable=True)

    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outboxmessage_member_id'))
        batch_op.drop_index(batch_op.f('ix_outboxmessage_chat_id'))
        batch_op.drop_index(batch_op.f('ix_outboxmessage_broadcast_id'))
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outboxmessage')
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_status'))

    op.drop_table('broadcast')
