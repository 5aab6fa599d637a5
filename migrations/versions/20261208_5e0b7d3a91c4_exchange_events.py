"""facts pushed by department systems (exchange_event), contradictions (case_exception), invitations (case_invitation),
proactive cases without an account yet

Revision ID: 5e0b7d3a91c4
Revises: 5b8e2f71c4a3
Create Date: 2026-12-08 01:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '5e0b7d3a91c4'
down_revision = '5b8e2f71c4a3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'exchange_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('event_id', sa.String(length=128), nullable=False),
        sa.Column('type', sa.String(length=120), nullable=False),
        sa.Column('client_name', sa.String(length=80), nullable=False),
        sa.Column('department', sa.String(length=20), nullable=False),
        sa.Column('county_code', sa.String(length=6), nullable=True),
        sa.Column('deceased_bidx', sa.String(length=64), nullable=True),
        sa.Column('application_id', sa.Integer(), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=False),
        sa.Column('held_enc', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'],
                                name=op.f('fk_exchange_event_application_id_application')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_event')),
        sa.UniqueConstraint('source', 'event_id', name='uq_exchange_event_source_event_id'),
    )
    with op.batch_alter_table('exchange_event', schema=None) as batch_op:
        for column in ('department', 'county_code', 'deceased_bidx', 'application_id', 'received_at'):
            batch_op.create_index(batch_op.f(f'ix_exchange_event_{column}'), [column], unique=False)
    op.create_table(
        'case_exception',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('exchange_event_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by', sa.Integer(), nullable=True),
        sa.Column('resolution', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'],
                                name=op.f('fk_case_exception_application_id_application')),
        sa.ForeignKeyConstraint(['exchange_event_id'], ['exchange_event.id'],
                                name=op.f('fk_case_exception_exchange_event_id_exchange_event')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_exception')),
    )
    with op.batch_alter_table('case_exception', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_exception_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_exception_opened_at'), ['opened_at'], unique=False)
    op.create_table(
        'case_invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('phone_enc', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'],
                                name=op.f('fk_case_invitation_application_id_application')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_invitation')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_case_invitation_token_hash')),
    )
    with op.batch_alter_table('case_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_invitation_application_id'), ['application_id'], unique=False)
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('case_invitation')
    op.drop_table('case_exception')
    op.drop_table('exchange_event')
