"""throttle counter

Revision ID: 7c3e5a1b9d20
Revises: 4f0fcf496a00
Create Date: 2026-11-23 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '7c3e5a1b9d20'
down_revision = '4f0fcf496a00'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('throttle_counter',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(precision=53), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_throttle_counter'))
    )
    with op.batch_alter_table('throttle_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_throttle_counter_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('throttle_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_counter_expires_at'))
    op.drop_table('throttle_counter')
