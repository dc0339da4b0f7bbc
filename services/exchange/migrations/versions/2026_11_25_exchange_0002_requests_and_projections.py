"""requests, personal data, history, attachments, access log, idempotency keys, projections

Revision ID: exchange_0002
Revises: exchange_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "exchange_0002"
down_revision: str | None = "exchange_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "authorities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("official_name", sa.Text(), nullable=False),
        sa.Column("name_language", sa.Text(), nullable=False),
        sa.Column("informal_titles", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("competences", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorities")),
    )
    op.create_index("ix_authorities_country", "authorities", ["country"], unique=False)
    op.create_table(
        "catalogue_versions",
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("procedures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("area_names", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("procedure_names", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_catalogue_versions")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"], unique=False)
    op.create_table(
        "requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("procedure", sa.Text(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("catalogue_version", sa.Text(), nullable=False),
        sa.Column("retention_months", sa.Integer(), nullable=False),
        sa.Column("requesting_authority_id", sa.Uuid(), nullable=False),
        sa.Column("requesting_country", sa.Text(), nullable=False),
        sa.Column("requesting_region", sa.Text(), nullable=True),
        sa.Column("responding_authority_id", sa.Uuid(), nullable=False),
        sa.Column("responding_country", sa.Text(), nullable=False),
        sa.Column("responding_region", sa.Text(), nullable=True),
        sa.Column("involved", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("involved_authority_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("involved_countries", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("involved_regions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("participant_user_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("participants", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("free_texts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("requested_reply_date", sa.Date(), nullable=True),
        sa.Column("reply_by", sa.Date(), nullable=True),
        sa.Column("reply_date_agreed", sa.Boolean(), nullable=False),
        sa.Column("date_proposal", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("handler_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("formal_closure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rating_timeliness", sa.Integer(), nullable=True),
        sa.Column("rating_effort", sa.Integer(), nullable=True),
        sa.Column("split_from", sa.Uuid(), nullable=True),
        sa.Column("acceptance_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acceptance_overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idle_escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("next_deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("personal_data_blocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("personal_data_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_retention_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
    )
    op.create_index("ix_requests_created", "requests", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_requests_involved_authorities",
        "requests",
        ["involved_authority_ids"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_requests_involved_countries",
        "requests",
        ["involved_countries"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_requests_participants",
        "requests",
        ["participant_user_ids"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_requests_next_deadline",
        "requests",
        ["next_deadline_at"],
        unique=False,
        postgresql_where=sa.text("next_deadline_at IS NOT NULL"),
    )
    op.create_index(
        "ix_requests_next_retention",
        "requests",
        ["next_retention_at"],
        unique=False,
        postgresql_where=sa.text("next_retention_at IS NOT NULL"),
    )
    op.create_index(
        "ix_requests_requesting",
        "requests",
        ["requesting_authority_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_requests_responding",
        "requests",
        ["responding_authority_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_requests_statistics",
        "requests",
        ["responding_country", "area", "sent_at"],
        unique=False,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("ix_users_authority", "users", ["authority_id"], unique=False)
    op.create_index("ix_users_country", "users", ["country"], unique=False)
    op.create_table(
        "attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("declared_type", sa.Text(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.Column("personal_data", sa.Boolean(), nullable=False),
        sa.Column("side", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removal_pending", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_attachments_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(
        "ix_attachments_removal",
        "attachments",
        ["id"],
        unique=False,
        postgresql_where=sa.text("removal_pending"),
    )
    op.create_index(
        "ix_attachments_request", "attachments", ["request_id", "uploaded_at"], unique=False
    )
    op.create_table(
        "personal_data_access",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=True),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_personal_data_access_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_access")),
    )
    op.create_index(
        "ix_personal_data_access_request",
        "personal_data_access",
        ["request_id", "id"],
        unique=False,
    )
    op.create_table(
        "request_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=False),
        sa.Column("to_state", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("authority_id", sa.Uuid(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_request_history_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_history")),
    )
    op.create_index(
        "ix_request_history_request", "request_history", ["request_id", "id"], unique=False
    )
    op.create_table(
        "request_personal_data",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("data_subject", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_request_personal_data_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_personal_data")),
    )


def downgrade() -> None:
    op.drop_table("request_personal_data")
    op.drop_index("ix_request_history_request", table_name="request_history")
    op.drop_table("request_history")
    op.drop_index("ix_personal_data_access_request", table_name="personal_data_access")
    op.drop_table("personal_data_access")
    op.drop_index("ix_attachments_request", table_name="attachments")
    op.drop_index(
        "ix_attachments_removal",
        table_name="attachments",
        postgresql_where=sa.text("removal_pending"),
    )
    op.drop_table("attachments")
    op.drop_index("ix_users_country", table_name="users")
    op.drop_index("ix_users_authority", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_requests_statistics", table_name="requests")
    op.drop_index("ix_requests_responding", table_name="requests")
    op.drop_index("ix_requests_requesting", table_name="requests")
    op.drop_index(
        "ix_requests_next_retention",
        table_name="requests",
        postgresql_where=sa.text("next_retention_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_requests_next_deadline",
        table_name="requests",
        postgresql_where=sa.text("next_deadline_at IS NOT NULL"),
    )
    op.drop_index("ix_requests_participants", table_name="requests", postgresql_using="gin")
    op.drop_index("ix_requests_involved_countries", table_name="requests", postgresql_using="gin")
    op.drop_index("ix_requests_involved_authorities", table_name="requests", postgresql_using="gin")
    op.drop_index("ix_requests_created", table_name="requests")
    op.drop_table("requests")
    op.drop_index("ix_idempotency_keys_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("catalogue_versions")
    op.drop_index("ix_authorities_country", table_name="authorities")
    op.drop_table("authorities")
