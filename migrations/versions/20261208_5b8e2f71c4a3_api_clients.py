"""api clients, webhooks and the task change feed

Department systems call /api/v1 as `api_client`s (secret hashed with scrypt); they may have
webhooks pushed to them (`webhook_subscription`); `department_task.change_seq` orders task
changes for the feed (GET /api/v1/tasks?cursor=…), drawn from the one `change_counter` row.
Existing tasks get a position in id order.

Revision ID: 5b8e2f71c4a3
Revises: c3e1a7b25d90
Create Date: 2026-12-08 01:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "5b8e2f71c4a3"
down_revision = "c3e1a7b25d90"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("department", sa.String(length=20), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=True),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_client_client_id")),
    )
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret_enc", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["api_client.id"], name=op.f("fk_webhook_subscription_client_id_api_client")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_subscription_client_id"), ["client_id"], unique=False)
    op.create_table(
        "change_counter",
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_counter")),
    )
    with op.batch_alter_table("department_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_seq", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_department_task_change_seq"), ["change_seq"], unique=False)
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE department_task SET change_seq = id"))
    top = conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM department_task")).scalar_one()
    conn.execute(sa.text("INSERT INTO change_counter (name, value) VALUES ('task', :v)"), {"v": top})


def downgrade() -> None:
    with op.batch_alter_table("department_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_task_change_seq"))
        batch_op.drop_column("change_seq")
    op.drop_table("change_counter")
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscription_client_id"))
    op.drop_table("webhook_subscription")
    op.drop_table("api_client")
