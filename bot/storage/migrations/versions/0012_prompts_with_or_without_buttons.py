"""flow runs remember whether the message asking their open question has buttons

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 23:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('flowrun', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('prompt_buttons', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Until now only prompts with buttons were remembered.
    flowrun = sa.table(
        'flowrun', sa.column('prompt_message_id', sa.BigInteger()), sa.column('prompt_buttons', sa.Boolean())
    )
    op.execute(
        flowrun.update().where(flowrun.c.prompt_message_id.is_not(None)).values(prompt_buttons=True)
    )


def downgrade() -> None:
    with op.batch_alter_table('flowrun', schema=None) as batch_op:
        batch_op.drop_column('prompt_buttons')
