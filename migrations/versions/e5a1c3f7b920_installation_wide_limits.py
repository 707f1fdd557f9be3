"""limit_counts: the installation's limits counted in the database; open-link settings and pause

Failed code lookups, open-link ballots and failed sign-ins were counted in each process's memory
(sign-ins in ``failed_sign_ins``, with the client address in clear): with more workers or app
servers every limit multiplied, and a restart reset it. They are now counted once, in
``limit_counts``, under keyed hashes of the client address, each row kept for its window only.
``failed_sign_ins`` goes (its rows lived 15 minutes). An open group gains its per-address rate,
its on-site flag and the organizer's pause.

Revision ID: e5a1c3f7b920
Revises: a6c1e9d4f702
Create Date: 2026-11-28 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a1c3f7b920'
down_revision = 'a6c1e9d4f702'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('limit_counts',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('start', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'key', 'start', name=op.f('pk_limit_counts'))
    )
    with op.batch_alter_table('limit_counts', schema=None) as batch_op:
        batch_op.create_index('ix_limit_counts_expires', ['expires'], unique=False)

    with op.batch_alter_table('failed_sign_ins', schema=None) as batch_op:
        batch_op.drop_index('ix_failed_sign_ins_username_at')
        batch_op.drop_index('ix_failed_sign_ins_address_at')
    op.drop_table('failed_sign_ins')

    with op.batch_alter_table('round_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('per_address_per_minute', sa.Integer(), server_default='60', nullable=False))
        batch_op.add_column(sa.Column('on_site', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('paused', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('round_groups', schema=None) as batch_op:
        batch_op.drop_column('paused')
        batch_op.drop_column('on_site')
        batch_op.drop_column('per_address_per_minute')

    op.create_table('failed_sign_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failed_sign_ins'))
    )
    with op.batch_alter_table('failed_sign_ins', schema=None) as batch_op:
        batch_op.create_index('ix_failed_sign_ins_address_at', ['address', 'at'], unique=False)
        batch_op.create_index('ix_failed_sign_ins_username_at', ['username', 'at'], unique=False)

    with op.batch_alter_table('limit_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_limit_counts_expires')
    op.drop_table('limit_counts')
