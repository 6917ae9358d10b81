"""check-in messages kept as data in the outbox (run, flow, node, part)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 20:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('flow_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('node_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('part', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outboxmessage_run_id'), ['run_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_outboxmessage_run_id_flowrun', 'flowrun', ['run_id'], ['id'], ondelete='CASCADE'
        )


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_constraint('fk_outboxmessage_run_id_flowrun', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outboxmessage_run_id'))
        batch_op.drop_column('part')
        batch_op.drop_column('node_id')
        batch_op.drop_column('flow_id')
        batch_op.drop_column('run_id')
