"""replies are claimed before other due rows: an index walks the queued replies in claim order

Revision ID: 0023
Revises: 0016
Create Date: 2026-12-06 06:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0023'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPLY = sa.text("broadcast_id IS NULL AND source = 'reply'")


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outbox_due_reply', ['status', 'next_attempt_at', 'id'], unique=False,
            postgresql_where=REPLY, sqlite_where=REPLY,
        )


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due_reply')
