"""committee groups: the Telegram group a committee is bound to, with a forum topic per purpose

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-06 08:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0024'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('committee_group',
    sa.Column('committee_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('is_forum', sa.Boolean(), nullable=False),
    sa.Column('digests_thread_id', sa.BigInteger(), nullable=True),
    sa.Column('tickets_thread_id', sa.BigInteger(), nullable=True),
    sa.Column('decisions_thread_id', sa.BigInteger(), nullable=True),
    sa.Column('bound_by', sa.BigInteger(), nullable=True),
    sa.Column('bound_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bound_by'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('committee_id'),
    sa.UniqueConstraint('chat_id')
    )


def downgrade() -> None:
    op.drop_table('committee_group')
