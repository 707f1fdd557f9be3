"""One-time links for a 监票人 to make a round's ballot box key in the browser

Revision ID: f3b9d6e1c274
Revises: f3b6d2a8c415
Create Date: 2026-12-03 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3b9d6e1c274'
down_revision = 'f3b6d2a8c415'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'keygen_links',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=True),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_keygen_links_round_id_rounds'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_keygen_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_keygen_links_token_hash')),
    )
    op.create_index(op.f('ix_keygen_links_round_id'), 'keygen_links', ['round_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_keygen_links_round_id'), table_name='keygen_links')
    op.drop_table('keygen_links')
