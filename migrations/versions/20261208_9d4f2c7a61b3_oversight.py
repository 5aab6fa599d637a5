"""月对账 (recon_month, recon_line, recon_confirmation) and retention runs (retention_run)

Revision ID: 9d4f2c7a61b3
Revises: 5b8e2d7c41a3
Create Date: 2026-12-08 01:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '9d4f2c7a61b3'
down_revision = '5b8e2d7c41a3'  # after the channels migration
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'recon_month',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('county_code', sa.String(length=6), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_by', sa.Integer(), nullable=True),
        sa.Column('closed_by_name', sa.String(length=60), nullable=True),
        sa.Column('as_of', sa.Date(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_month')),
        sa.UniqueConstraint('month', 'county_code', name='uq_recon_month_month_county'),
    )
    op.create_table(
        'recon_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=True),
        sa.Column('number', sa.String(length=32), nullable=True),
        sa.Column('person', sa.String(length=60), nullable=False),
        sa.Column('death_date', sa.Date(), nullable=True),
        sa.Column('known_on', sa.Date(), nullable=True),
        sa.Column('cells', sa.JSON(), nullable=False),
        sa.Column('exceptions', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'],
                                name=op.f('fk_recon_line_application_id_application')),
        sa.ForeignKeyConstraint(['month_id'], ['recon_month.id'], name=op.f('fk_recon_line_month_id_recon_month')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_line')),
    )
    with op.batch_alter_table('recon_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_line_month_id'), ['month_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recon_line_application_id'), ['application_id'], unique=False)
    op.create_table(
        'recon_confirmation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month_id', sa.Integer(), nullable=False),
        sa.Column('department', sa.String(length=20), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('staff_name', sa.String(length=60), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['month_id'], ['recon_month.id'],
                                name=op.f('fk_recon_confirmation_month_id_recon_month')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_confirmation')),
        sa.UniqueConstraint('month_id', 'department', name='uq_recon_confirmation_month_department'),
    )
    with op.batch_alter_table('recon_confirmation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_confirmation_month_id'), ['month_id'], unique=False)
    op.create_table(
        'retention_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('trigger', sa.String(length=20), nullable=False),
        sa.Column('draft_cutoff', sa.DateTime(timezone=True), nullable=False),
        sa.Column('case_cutoff', sa.DateTime(timezone=True), nullable=False),
        sa.Column('drafts_deleted', sa.Integer(), nullable=False),
        sa.Column('cases_anonymised', sa.Integer(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_run')),
    )
    with op.batch_alter_table('retention_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_run_started_at'), ['started_at'], unique=False)
    # the reconciliation reads one county's deaths of one month
    with op.batch_alter_table('deceased', schema=None) as batch_op:
        batch_op.create_index('ix_deceased_county_death', ['hukou_county', 'death_time'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deceased', schema=None) as batch_op:
        batch_op.drop_index('ix_deceased_county_death')
    op.drop_table('retention_run')
    op.drop_table('recon_confirmation')
    op.drop_table('recon_line')
    op.drop_table('recon_month')
