"""identities keyed by (issuer, sub); server-side web sessions

Existing rows (decision D12):
- citizen_account already records the issuer of each login: it keeps it, and (issuer, sub)
  becomes the unique key instead of sub alone.
- staff_member rows had no issuer. They are bound to the stand-in provider of this deployment
  (BASE_URL/idp, from the environment the migration runs in), because until now the stand-in
  was the only provider a membership could have been granted for in practice, and binding them
  to an outside provider would hand its user with that `sub` the rights. Staff of a real
  provider are granted again (`python -m portal grant-admin`, then the staff page).
- web_session is new; sessions in the old signed cookies simply end (people log in again).

Revision ID: 00c98586eca6
Revises: d283de2db3c5
Create Date: 2026-11-24 09:00:00
"""
import os

from alembic import context, op
import sqlalchemy as sa


revision = '00c98586eca6'
down_revision = 'd283de2db3c5'
branch_labels = None
depends_on = None


def _stand_in_issuer() -> str:
    given = context.config.attributes.get("stand_in_issuer")
    if given:
        return str(given)
    base = (os.environ.get("BASE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}").rstrip("/")
    return base + "/idp"


def upgrade() -> None:
    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer', sa.String(length=255), nullable=True))
    op.execute(sa.text("UPDATE staff_member SET issuer = :issuer").bindparams(issuer=_stand_in_issuer()))
    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.alter_column('issuer', existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_constraint('uq_staff_member_sub', type_='unique')
        batch_op.create_unique_constraint('uq_staff_member_issuer_sub', ['issuer', 'sub'])

    with op.batch_alter_table('citizen_account', schema=None) as batch_op:
        batch_op.drop_constraint('uq_citizen_account_sub', type_='unique')
        batch_op.create_unique_constraint('uq_citizen_account_issuer_sub', ['issuer', 'sub'])

    op.create_table('web_session',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['citizen_account.id'], name=op.f('fk_web_session_account_id_citizen_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_web_session'))
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_session_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_session_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    """Fails (unique sub) if the same sub has meanwhile logged in at two providers: merge by hand first."""
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_session_expires_at'))
        batch_op.drop_index(batch_op.f('ix_web_session_account_id'))
    op.drop_table('web_session')

    with op.batch_alter_table('citizen_account', schema=None) as batch_op:
        batch_op.drop_constraint('uq_citizen_account_issuer_sub', type_='unique')
        batch_op.create_unique_constraint('uq_citizen_account_sub', ['sub'])

    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.drop_constraint('uq_staff_member_issuer_sub', type_='unique')
        batch_op.create_unique_constraint('uq_staff_member_sub', ['sub'])
        batch_op.drop_column('issuer')
