"""receipts apart from ballots; fingerprint of the code key; random 62-bit code ids

Receipts move out of ``ballots`` into a table of their own that names no ballot, so that a
receipt someone was shown is no handle on that person's answers. ``key_fingerprints`` records
which code key the stored codes were issued under.

Revision ID: b7c4e2a91f03
Revises: 570ffdc48cca
Create Date: 2026-11-26 13:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7c4e2a91f03'
down_revision = '570ffdc48cca'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('receipts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('receipt', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_receipts_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('round_id', 'receipt', name=op.f('uq_receipts_round_id')),
    sqlite_with_rowid=False
    )
    op.create_table('key_fingerprints',
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('purpose', name=op.f('pk_key_fingerprints'))
    )
    # existing receipts move over under fresh ids, ordered by receipt (random), not by ballot
    random_id = "lower(hex(randomblob(16)))" if op.get_bind().dialect.name == "sqlite" else "md5(random()::text || receipt)"
    op.execute(
        f"INSERT INTO receipts (id, round_id, receipt) SELECT {random_id}, round_id, receipt FROM ballots"
        " WHERE receipt IS NOT NULL ORDER BY receipt"
    )
    with op.batch_alter_table('ballots', schema=None, table_kwargs={"sqlite_with_rowid": False}) as batch_op:
        batch_op.drop_constraint('uq_ballots_round_id', type_='unique')
        batch_op.drop_column('receipt')
    if op.get_bind().dialect.name != "sqlite":  # SQLite's INTEGER PRIMARY KEY holds 64 bits already
        op.alter_column('ballot_codes', 'id', type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade():
    # ballot_codes.id stays 64-bit: random ids of codes still unused would not fit 32 bits
    # receipts no longer name their ballot: they cannot be put back on one (the column stays empty)
    with op.batch_alter_table('ballots', schema=None, table_kwargs={"sqlite_with_rowid": False}) as batch_op:
        batch_op.add_column(sa.Column('receipt', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint('uq_ballots_round_id', ['round_id', 'receipt'])
    op.drop_table('key_fingerprints')
    op.drop_table('receipts')
