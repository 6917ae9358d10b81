"""committees, concerns, audit and proxy answers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 16:25:27.262107
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('auditentry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_member_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_label', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_member_id'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('auditentry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auditentry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_auditentry_at'), ['at'], unique=False)

    op.create_table('committee',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_digest_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('committeemember',
    sa.Column('committee_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('is_chair', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('committee_id', 'member_id')
    )
    op.create_table('ticket',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('handle', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('about', sa.String(length=32), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('committee_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('handle')
    )
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_status'), ['status'], unique=False)

    op.create_table('ticketevent',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('actor_member_id', sa.BigInteger(), nullable=True),
    sa.Column('from_raiser', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_member_id'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticketevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticketevent_created_at'), ['created_at'], unique=False)

    op.create_table('ticketroute',
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('sealed', sa.String(length=512), nullable=False),
    sa.Column('raiser_tag', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    with op.batch_alter_table('ticketroute', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticketroute_raiser_tag'), ['raiser_tag'], unique=False)

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quotable', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('proxy', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('recorded_by', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key('fk_answer_recorded_by', 'member', ['recorded_by'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('flowrun', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proxy', sa.JSON(), nullable=True))

    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=24), nullable=False, server_default='checkin'))
        batch_op.add_column(sa.Column('committee_id', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key('fk_schedule_committee_id', 'committee', ['committee_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('scheduleoccurrence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('results_sent_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('scheduleoccurrence', schema=None) as batch_op:
        batch_op.drop_column('results_sent_at')

    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_constraint('fk_schedule_committee_id', type_='foreignkey')
        batch_op.drop_column('committee_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('flowrun', schema=None) as batch_op:
        batch_op.drop_column('proxy')

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_constraint('fk_answer_recorded_by', type_='foreignkey')
        batch_op.drop_column('recorded_by')
        batch_op.drop_column('proxy')
        batch_op.drop_column('quotable')

    with op.batch_alter_table('ticketroute', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticketroute_raiser_tag'))

    op.drop_table('ticketroute')
    with op.batch_alter_table('ticketevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticketevent_created_at'))

    op.drop_table('ticketevent')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_status'))
        batch_op.drop_index(batch_op.f('ix_ticket_member_id'))

    op.drop_table('ticket')
    op.drop_table('committeemember')
    op.drop_table('committee')
    with op.batch_alter_table('auditentry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auditentry_at'))
        batch_op.drop_index(batch_op.f('ix_auditentry_action'))

    op.drop_table('auditentry')
