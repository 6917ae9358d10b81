"""schedules and check-ins

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:58:06.387898
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('schedule',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('flow_id', sa.String(length=40), nullable=False),
    sa.Column('recurrence', sa.JSON(), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('window_minutes', sa.Integer(), nullable=False),
    sa.Column('reminder_minutes', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('default_key', sa.String(length=40), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('active_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('default_key')
    )
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_status'), ['status'], unique=False)

    op.create_table('checkin',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('schedule_id', sa.BigInteger(), nullable=False),
    sa.Column('occurrence', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('next_reminder_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['flowrun.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedule.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('schedule_id', 'occurrence', 'member_id', name='uq_checkin_member')
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_status_closes', ['status', 'closes_at'], unique=False)

    op.create_table('scheduleoccurrence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('schedule_id', sa.BigInteger(), nullable=False),
    sa.Column('occurrence', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('first_send_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_close_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedule.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('schedule_id', 'occurrence', name='uq_scheduleoccurrence_key')
    )
    with op.batch_alter_table('scheduleoccurrence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduleoccurrence_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scheduleoccurrence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduleoccurrence_status'))

    op.drop_table('scheduleoccurrence')
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_status_closes')

    op.drop_table('checkin')
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_status'))

    op.drop_table('schedule')
