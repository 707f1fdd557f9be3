"""rounds.spec_version: a stamp the questionnaire caches are keyed by

Revision ID: 5b0e8d1c7a42
Revises: b7c4e2a91f03
Create Date: 2026-11-26 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b0e8d1c7a42'
down_revision = 'b7c4e2a91f03'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spec_version', sa.String(length=16), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('spec_version')
