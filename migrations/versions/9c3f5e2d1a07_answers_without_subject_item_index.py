"""answers: drop ix_answers_subject_item, an index no query reads

Every query of ``answers`` (tallies, the spoiled-ballot test, exports) reaches it through
``ballots`` (``round_id``) and then the primary key's first column, ``ballot_id``: the query
plans on SQLite and PostgreSQL never use ``(subject_id, item_id)``. Yet every ballot wrote its
~40 rows into that index at ~40 scattered places, which made a ballot's commit about five times
slower on SQLite.

Revision ID: 9c3f5e2d1a07
Revises: 5b0e8d1c7a42
Create Date: 2026-11-26 14:25:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9c3f5e2d1a07'
down_revision = '5b0e8d1c7a42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index('ix_answers_subject_item')


def downgrade():
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.create_index('ix_answers_subject_item', ['subject_id', 'item_id'], unique=False)
