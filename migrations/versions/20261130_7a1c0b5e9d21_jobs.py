"""background jobs and schedule runs

Revision ID: 7a1c0b5e9d21
Revises: 7c3e5a1b9d20
Create Date: 2026-11-30 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '7a1c0b5e9d21'
down_revision = '7c3e5a1b9d20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('locked_by', sa.String(length=64), nullable=True),
        sa.Column('dedupe_key', sa.String(length=160), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_job_dedupe_key')),
    )
    op.create_index('ix_job_due', 'job', ['status', 'run_at'], unique=False)
    op.create_table(
        'schedule_run',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('period', sa.String(length=32), nullable=False),
        sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', 'period', name=op.f('pk_schedule_run')),
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_bidx', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_notification_phone_bidx'), ['phone_bidx'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_phone_bidx'))
        batch_op.drop_column('phone_bidx')
    op.drop_table('schedule_run')
    op.drop_index('ix_job_due', table_name='job')
    op.drop_table('job')
