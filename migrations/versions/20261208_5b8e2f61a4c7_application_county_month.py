"""application (county_code, submitted_at): one county's month without reading every application

Revision ID: 5b8e2f61a4c7
Revises: 9d4f2c7a61b3
Create Date: 2026-12-08 01:10:00

At 200,000 applications the county-month aggregate (the monthly reconciliation's shape) read
the whole application table (parallel seq scan, 75 ms); it grows with every year kept.
"""
from alembic import op


revision = '5b8e2f61a4c7'
down_revision = '9d4f2c7a61b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_application_county_submitted', 'application', ['county_code', 'submitted_at'])


def downgrade() -> None:
    op.drop_index('ix_application_county_submitted', table_name='application')
