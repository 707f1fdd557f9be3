"""整改 entries added by hand: from a comment, a 领导点评 or a meeting

Revision ID: a6c1e9d4f702
Revises: f3b9d6e1c274
Create Date: 2026-12-03 21:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a6c1e9d4f702'
down_revision = 'f3b9d6e1c274'
branch_labels = None
depends_on = None

DRAWN_UP = "'grade', 'review', 'negative_share'"
BY_HAND = "'comment', 'remark', 'meeting'"


def upgrade():
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_constraint('reason_known', type_='check')
        batch_op.create_check_constraint('reason_known', f"reason IN ({DRAWN_UP}, {BY_HAND})")


def downgrade():
    op.execute(f"DELETE FROM rectifications WHERE reason IN ({BY_HAND})")
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_constraint('reason_known', type_='check')
        batch_op.create_check_constraint('reason_known', f"reason IN ({DRAWN_UP})")
