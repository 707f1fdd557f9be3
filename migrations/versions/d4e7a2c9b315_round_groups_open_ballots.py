"""round_groups.open_ballots: ballots taken through an open link, for its cap

Each ballot on a capped open link used to count the group's ballots (one more row to count
with every ballot); the counter is raised in the ballot's own transaction instead, and only
while it is under the cap. Existing ballots of open groups are counted once here.

Revision ID: d4e7a2c9b315
Revises: 9c3f5e2d1a07
Create Date: 2026-11-26 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e7a2c9b315'
down_revision = '9c3f5e2d1a07'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('round_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_ballots', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE round_groups SET open_ballots = "
        "(SELECT count(*) FROM ballots WHERE ballots.group_id = round_groups.id) WHERE access = 'open'"
    )


def downgrade():
    with op.batch_alter_table('round_groups', schema=None) as batch_op:
        batch_op.drop_column('open_ballots')
