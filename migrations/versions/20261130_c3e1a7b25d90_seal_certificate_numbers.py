"""seal death-certificate numbers

From 2026-07-01 the death-certificate number is the deceased's 身份证号, so it is sealed and
blind-indexed like every other personal number (portal/services/pii.py). Existing rows are
sealed here with the app's PII_KEY: the one `portal.migrate.upgrade` was given, else the one
Settings reads (PII_KEY, or VAR_DIR/pii_key), exactly as the running portal does. The old
submission service stored the words 同逝者身份证号码 when the number was the ID; those rows
get the deceased's ID number. Downgrading writes the numbers back in clear (the words again
where the number is the ID).

Revision ID: c3e1a7b25d90
Revises: 00c98586eca6
Create Date: 2026-11-30 07:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "c3e1a7b25d90"
down_revision = "00c98586eca6"
branch_labels = None
depends_on = None

SAME_AS_ID = "同逝者身份证号码"

deceased = sa.table(
    "deceased",
    sa.column("id", sa.Integer),
    sa.column("id_card_enc", sa.String),
    sa.column("id_card_bidx", sa.String),
    sa.column("certificate_no", sa.String),
    sa.column("certificate_no_enc", sa.String),
    sa.column("certificate_no_bidx", sa.String),
)


def _vault():  # type: ignore[no-untyped-def]
    """The vault of the running portal; only asked for when there are rows to convert."""
    from portal.config import Settings
    from portal.crypto import Vault

    key = op.get_context().config.attributes.get("pii_key") if op.get_context().config else None
    return Vault(key if key is not None else Settings.from_env().pii_key)


def upgrade() -> None:
    with op.batch_alter_table("deceased", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate_no_enc", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("certificate_no_bidx", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_deceased_certificate_no_bidx"), ["certificate_no_bidx"], unique=False)

    conn = op.get_bind()
    if conn.dialect.name == "sqlite":  # overwrite the clear values' old pages, whatever the build's default
        conn.exec_driver_sql("PRAGMA secure_delete=ON")
    rows = conn.execute(sa.select(deceased.c.id, deceased.c.id_card_enc, deceased.c.certificate_no)).all()
    if rows:
        from portal.services import pii

        vault = _vault()
        for row_id, id_card_enc, certificate_no in rows:
            plain = vault.open(id_card_enc) if certificate_no == SAME_AS_ID else certificate_no
            sealed = pii.seal(vault, pii.Kind.CERTIFICATE, plain)
            conn.execute(deceased.update().where(deceased.c.id == row_id)
                         .values(certificate_no_enc=sealed.enc, certificate_no_bidx=sealed.bidx))

    with op.batch_alter_table("deceased", schema=None) as batch_op:
        batch_op.drop_column("certificate_no")


def downgrade() -> None:
    with op.batch_alter_table("deceased", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate_no", sa.String(length=40), nullable=True))

    conn = op.get_bind()
    rows = conn.execute(sa.select(deceased.c.id, deceased.c.id_card_bidx, deceased.c.certificate_no_enc,
                                  deceased.c.certificate_no_bidx)).all()
    vault = _vault() if any(r.certificate_no_enc for r in rows) else None
    for row_id, id_card_bidx, enc, bidx in rows:
        if bidx and bidx == id_card_bidx:
            plain = SAME_AS_ID  # never put the ID number in clear, even going back
        else:
            plain = vault.open(enc) if vault is not None and enc else ""
        conn.execute(deceased.update().where(deceased.c.id == row_id).values(certificate_no=plain or ""))

    with op.batch_alter_table("deceased", schema=None) as batch_op:
        batch_op.alter_column("certificate_no", existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_index(batch_op.f("ix_deceased_certificate_no_bidx"))
        batch_op.drop_column("certificate_no_bidx")
        batch_op.drop_column("certificate_no_enc")
