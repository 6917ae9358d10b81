"""sealed votes: an anonymous vote's revision, one vote per decision and voter tag

Anonymous votes by button are filed by the leader from sealed ballots, in any order: the
revision keeps the latest, and the unique key lets two filers not both insert a voter's vote.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'decision_vote', sa.Column('revision', sa.Integer(), nullable=False, server_default='0')
    )
    op.create_index(
        'ux_decision_vote_voter', 'decision_vote', ['decision_id', 'voter_tag'], unique=True
    )


def downgrade() -> None:
    op.drop_index('ux_decision_vote_voter', table_name='decision_vote')
    with op.batch_alter_table('decision_vote') as batch:
        batch.drop_column('revision')
