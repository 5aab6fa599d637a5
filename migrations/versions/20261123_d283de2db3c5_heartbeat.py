"""heartbeat: a row /healthz rewrites to prove the database accepts writes

Revision ID: d283de2db3c5
Revises: 7a1c0b5e9d21
Create Date: 2026-11-23 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'd283de2db3c5'
down_revision = '7a1c0b5e9d21'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'heartbeat',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_heartbeat')),
    )


def downgrade() -> None:
    op.drop_table('heartbeat')
