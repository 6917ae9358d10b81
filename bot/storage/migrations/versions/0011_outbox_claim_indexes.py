"""indexes the outbox claim walks: due rows by kind in claim order, pending rows by chat

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 23:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERSONAL = sa.text('broadcast_id IS NULL')
BROADCAST = sa.text('broadcast_id IS NOT NULL')
PENDING = sa.text("status IN ('queued', 'sending')")


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outbox_due_personal', ['status', 'next_attempt_at', 'id'], unique=False,
            postgresql_where=PERSONAL, sqlite_where=PERSONAL,
        )
        batch_op.create_index(
            'ix_outbox_due_broadcast', ['status', 'next_attempt_at', 'id'], unique=False,
            postgresql_where=BROADCAST, sqlite_where=BROADCAST,
        )
        batch_op.create_index(
            'ix_outbox_pending_chat', ['chat_id', 'id'], unique=False,
            postgresql_where=PENDING, sqlite_where=PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending_chat')
        batch_op.drop_index('ix_outbox_due_broadcast')
        batch_op.drop_index('ix_outbox_due_personal')
