"""channels: the window fills in for a family (代办), phones found by blind index

- (application.account_id may be empty since the exchange-events revision: a case a clerk filled
  in belongs to no account until the family logs in with the same identity document;)
- party.phone_bidx: staff find a case by the applicant's phone;
- proxy_applicant: the applicant of a 代办 case as the clerk saw their document;
- text_phone: another mobile number for texts, verified by a one-time code;
- case_access: relatives the applicant authorised (委托 agent, or read-only progress).

Revision ID: 5b8e2d7c41a3
Revises: 5e0b7d3a91c4
Create Date: 2026-12-08 01:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5b8e2d7c41a3"
down_revision = "5e0b7d3a91c4"  # after h/events (exchange events)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("party") as batch:
        batch.add_column(sa.Column("phone_bidx", sa.String(length=64), nullable=True))
        batch.create_index("ix_party_phone_bidx", ["phone_bidx"])
    op.create_table(
        "proxy_applicant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("id_type", sa.Integer(), nullable=False),
        sa.Column("document_enc", sa.String(length=255), nullable=False),
        sa.Column("document_bidx", sa.String(length=64), nullable=False),
        sa.Column("phone_enc", sa.String(length=255), nullable=False),
        sa.Column("consent_how", sa.String(length=20), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"],
                                name="fk_proxy_applicant_application_id_application"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_member.id"], name="fk_proxy_applicant_staff_id_staff_member"),
        sa.PrimaryKeyConstraint("id", name="pk_proxy_applicant"),
        sa.UniqueConstraint("application_id", name="uq_proxy_applicant_application_id"),
    )
    op.create_index("ix_proxy_applicant_document_bidx", "proxy_applicant", ["document_bidx"])
    op.create_table(
        "text_phone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("phone_enc", sa.String(length=255), nullable=False),
        sa.Column("phone_bidx", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["citizen_account.id"], name="fk_text_phone_account_id_citizen_account"),
        sa.PrimaryKeyConstraint("id", name="pk_text_phone"),
    )
    op.create_index("ix_text_phone_account_id", "text_phone", ["account_id"])
    op.create_index("ix_text_phone_phone_bidx", "text_phone", ["phone_bidx"])
    op.create_table(
        "case_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("relation", sa.String(length=30), nullable=False),
        sa.Column("id_card_enc", sa.String(length=255), nullable=False),
        sa.Column("id_card_bidx", sa.String(length=64), nullable=False),
        sa.Column("phone_enc", sa.String(length=255), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"], name="fk_case_access_application_id_application"),
        sa.ForeignKeyConstraint(["granted_by"], ["citizen_account.id"], name="fk_case_access_granted_by_citizen_account"),
        sa.PrimaryKeyConstraint("id", name="pk_case_access"),
    )
    op.create_index("ix_case_access_application_id", "case_access", ["application_id"])
    op.create_index("ix_case_access_id_card_bidx", "case_access", ["id_card_bidx"])


def downgrade() -> None:
    op.drop_index("ix_case_access_id_card_bidx", table_name="case_access")
    op.drop_index("ix_case_access_application_id", table_name="case_access")
    op.drop_table("case_access")
    op.drop_index("ix_text_phone_phone_bidx", table_name="text_phone")
    op.drop_index("ix_text_phone_account_id", table_name="text_phone")
    op.drop_table("text_phone")
    op.drop_index("ix_proxy_applicant_document_bidx", table_name="proxy_applicant")
    op.drop_table("proxy_applicant")
    with op.batch_alter_table("party") as batch:
        batch.drop_index("ix_party_phone_bidx")
        batch.drop_column("phone_bidx")
