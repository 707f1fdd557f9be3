"""The sealed ballot box: sealed_ballots, and each round's box key and custody

While a round is open its ballots are stored only sealed to the round's public key; close opens
them into ballots/answers/comments. A round open (or draft) at the time of this migration gets a
server-custody key id here; its public key is derived from it and the server's ballot box secret
when first needed. Ballots an open round already stored in the clear stay where they are.

Revision ID: e8a1c4b7d920
Revises: e1a5c3f7b902
Create Date: 2026-12-03 20:40:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8a1c4b7d920'
down_revision = 'e1a5c3f7b902'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sealed_ballots',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('cast_on', sa.Date(), nullable=False),
        sa.Column('box', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['round_groups.id'], name=op.f('fk_sealed_ballots_group_id_round_groups'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_sealed_ballots_round_id_rounds'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_ballots')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_sealed_ballots_round_group', 'sealed_ballots', ['round_id', 'group_id'], unique=False)
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('box_custody', sa.String(length=8), server_default='server', nullable=False))
        batch_op.add_column(sa.Column('box_public_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('box_key_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('box_unreadable', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('close_done', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('close_total', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('status_known', type_='check')
        batch_op.create_check_constraint(
            'status_known', "status IN ('draft', 'open', 'closing', 'closed', 'published')")
        batch_op.create_check_constraint('box_custody_known', "box_custody IN ('server', 'teller')")
    rounds = sa.table('rounds', sa.column('id', sa.Integer), sa.column('status', sa.String),
                      sa.column('box_key_id', sa.String))
    conn = op.get_bind()
    for (round_id,) in conn.execute(sa.select(rounds.c.id).where(rounds.c.status == 'open')).all():
        conn.execute(rounds.update().where(rounds.c.id == round_id).values(box_key_id=secrets.token_hex(16)))


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_constraint('box_custody_known', type_='check')
        batch_op.drop_constraint('status_known', type_='check')
        batch_op.create_check_constraint('status_known', "status IN ('draft', 'open', 'closed', 'published')")
        batch_op.drop_column('closed_at')
        batch_op.drop_column('close_total')
        batch_op.drop_column('close_done')
        batch_op.drop_column('box_unreadable')
        batch_op.drop_column('box_key_id')
        batch_op.drop_column('box_public_key')
        batch_op.drop_column('box_custody')
    op.drop_index('ix_sealed_ballots_round_group', table_name='sealed_ballots')
    op.drop_table('sealed_ballots')
