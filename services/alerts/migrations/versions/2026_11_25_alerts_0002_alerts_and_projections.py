"""alerts, recipients, history, personal data; catalogue and directory projections

Revision ID: alerts_0002
Revises: alerts_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "alerts_0002"
down_revision: str | None = "alerts_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
TEXTS = postgresql.ARRAY(sa.Text())


def upgrade() -> None:
    op.create_table(
        "catalogue_versions",
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("published_at", TZ, nullable=False),
        sa.Column("event", postgresql.JSONB(), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_catalogue_versions")),
    )
    op.create_table(
        "directory_authorities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("official_name", sa.Text(), nullable=False),
        sa.Column("name_language", sa.Text(), nullable=False),
        sa.Column("informal_titles", postgresql.JSONB(), nullable=False),
        sa.Column("languages", TEXTS, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("coordinating", sa.Boolean(), nullable=False),
        sa.Column("competences", postgresql.JSONB(), nullable=False),
        sa.Column("areas", TEXTS, nullable=False),
        sa.Column("procedures", TEXTS, nullable=False),
        sa.Column("keywords", TEXTS, nullable=False),
        sa.Column("competence_regions", TEXTS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_authorities")),
    )
    op.create_index(
        "ix_directory_authorities_country_status",
        "directory_authorities",
        ["country", "status"],
    )
    op.create_table(
        "directory_users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("roles", postgresql.JSONB(), nullable=False),
        sa.Column("role_keys", TEXTS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_users")),
    )
    op.create_index("ix_directory_users_authority_id", "directory_users", ["authority_id"])

    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("procedure", sa.Text(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("catalogue_version", sa.Text(), nullable=False),
        sa.Column("retention_months", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sender_authority_id", sa.Uuid(), nullable=False),
        sa.Column("sender_country", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("content", postgresql.JSONB(), nullable=False),
        sa.Column("content_version", sa.Integer(), nullable=False),
        sa.Column("profession", sa.Text(), nullable=True),
        sa.Column("deciding_authority", sa.Text(), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("send_by", sa.Date(), nullable=True),
        sa.Column("overdue_at", TZ, nullable=True),
        sa.Column("countries", TEXTS, nullable=True),
        sa.Column("recipient_countries", TEXTS, nullable=True),
        sa.Column("all_countries", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("submitted_at", TZ, nullable=True),
        sa.Column("approved_at", TZ, nullable=True),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("ended_at", TZ, nullable=True),
        sa.Column("personal_data_blocked_at", TZ, nullable=True),
        sa.Column("personal_data_deleted_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(
        "ix_alerts_sender_authority_id", "alerts", ["sender_authority_id", "created_at"]
    )
    op.create_index("ix_alerts_sender_country_state", "alerts", ["sender_country", "state"])
    op.create_index(
        "ix_alerts_pq_unsent",
        "alerts",
        ["send_by"],
        postgresql_where=sa.text("state = 'draft' AND send_by IS NOT NULL AND overdue_at IS NULL"),
    )
    op.create_index(
        "ix_alerts_ended_personal",
        "alerts",
        ["ended_at"],
        postgresql_where=sa.text("ended_at IS NOT NULL AND personal_data_deleted_at IS NULL"),
    )

    def alert_fk(table: str) -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f(f"fk_{table}_alert_id_alerts"),
            ondelete="CASCADE",
        )

    op.create_table(
        "alert_personal_data",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("professional", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        alert_fk("alert_personal_data"),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alert_personal_data")),
    )
    op.create_table(
        "alert_content_versions",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("content_version", sa.Integer(), nullable=False),
        sa.Column("content", postgresql.JSONB(), nullable=False),
        sa.Column("profession", sa.Text(), nullable=True),
        sa.Column("replaced_at", TZ, nullable=False),
        sa.Column("replaced_by", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        alert_fk("alert_content_versions"),
        sa.PrimaryKeyConstraint(
            "alert_id", "content_version", name=op.f("pk_alert_content_versions")
        ),
    )
    op.create_table(
        "alert_updates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("items", postgresql.JSONB(), nullable=False),
        sa.Column("free_texts", postgresql.JSONB(), nullable=False),
        alert_fk("alert_updates"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_updates")),
    )
    op.create_index("ix_alert_updates_alert_id", "alert_updates", ["alert_id", "at"])
    op.create_table(
        "alert_comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        alert_fk("alert_comments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_comments")),
    )
    op.create_index("ix_alert_comments_alert_id", "alert_comments", ["alert_id", "at"])
    op.create_table(
        "alert_recipients",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("via", sa.Text(), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=False),
        sa.Column("delivered_at", TZ, nullable=False),
        sa.Column("read_at", TZ, nullable=True),
        sa.Column("read_by", sa.Uuid(), nullable=True),
        sa.Column("acknowledged_at", TZ, nullable=True),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        sa.Column("comment_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_commented_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("alert_id", "authority_id", name=op.f("pk_alert_recipients")),
    )
    op.create_index(
        "ix_alert_recipients_authority_id", "alert_recipients", ["authority_id", "delivered_at"]
    )
    op.create_index(
        "ix_alert_recipients_alert_id_country", "alert_recipients", ["alert_id", "country"]
    )
    op.create_table(
        "alert_disseminations",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("criteria", postgresql.JSONB(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        alert_fk("alert_disseminations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_disseminations")),
    )
    op.create_index(
        "ix_alert_disseminations_alert_id", "alert_disseminations", ["alert_id", "country"]
    )
    op.create_table(
        "alert_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("authority_id", sa.Uuid(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        alert_fk("alert_history"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_history")),
    )
    op.create_index("ix_alert_history_alert_id", "alert_history", ["alert_id", "id"])
    op.create_table(
        "personal_data_access_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("roles", TEXTS, nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("while_blocked", sa.Boolean(), nullable=False),
        alert_fk("personal_data_access_log"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_access_log")),
    )
    op.create_index(
        "ix_personal_data_access_log_alert_id", "personal_data_access_log", ["alert_id", "id"]
    )
    op.create_table(
        "alert_translations",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("text_key", sa.Text(), nullable=False),
        sa.Column("target_language", sa.Text(), nullable=False),
        sa.Column("source_language", sa.Text(), nullable=False),
        sa.Column("translated_text", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("machine_translated", sa.Boolean(), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        alert_fk("alert_translations"),
        sa.PrimaryKeyConstraint(
            "alert_id", "text_key", "target_language", name=op.f("pk_alert_translations")
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        alert_fk("idempotency_keys"),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )


def downgrade() -> None:
    for table in (
        "idempotency_keys",
        "alert_translations",
        "personal_data_access_log",
        "alert_history",
        "alert_disseminations",
        "alert_recipients",
        "alert_comments",
        "alert_updates",
        "alert_content_versions",
        "alert_personal_data",
        "alerts",
        "directory_users",
        "directory_authorities",
        "catalogue_versions",
    ):
        op.drop_table(table)
