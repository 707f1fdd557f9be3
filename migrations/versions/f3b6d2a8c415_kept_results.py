"""kept_results: a closed round's results computed once and kept

Revision ID: f3b6d2a8c415
Revises: e8a1c4b7d920
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3b6d2a8c415'
down_revision = 'e8a1c4b7d920'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kept_results',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('basis', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_kept_results_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_kept_results'))
    )


def downgrade():
    op.drop_table('kept_results')
