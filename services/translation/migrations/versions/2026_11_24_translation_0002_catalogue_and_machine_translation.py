"""catalogue versions and texts, machine translation cache and jobs

Revision ID: translation_0002
Revises: translation_0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "translation_0002"
down_revision: str | None = "translation_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalogue_versions",
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("structure", postgresql.JSONB(), nullable=False),
        sa.Column(
            "published_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "activated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_catalogue_versions")),
    )
    op.create_table(
        "catalogue_texts",
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("texts", postgresql.JSONB(), nullable=False),
        sa.Column("keywords", postgresql.JSONB(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["catalogue_versions.version"],
            name=op.f("fk_catalogue_texts_version_catalogue_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version", "language", name=op.f("pk_catalogue_texts")),
    )
    op.create_table(
        "machine_translations",
        sa.Column("text_hash", sa.Text(), nullable=False),
        sa.Column("source_language", sa.Text(), nullable=False),
        sa.Column("target_language", sa.Text(), nullable=False),
        sa.Column("translated_text", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "text_hash", "source_language", "target_language", name=op.f("pk_machine_translations")
        ),
    )
    op.create_table(
        "translation_jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("requester", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.Text(), nullable=False),
        sa.Column("source_language", sa.Text(), nullable=False),
        sa.Column("target_language", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translation_jobs")),
        sa.UniqueConstraint(
            "requester",
            "reference",
            "text_hash",
            "source_language",
            "target_language",
            name="uq_translation_jobs_request",
        ),
    )
    op.create_index(
        "ix_translation_jobs_due",
        "translation_jobs",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_translation_jobs_text",
        "translation_jobs",
        ["text_hash", "source_language", "target_language"],
    )


def downgrade() -> None:
    op.drop_index("ix_translation_jobs_text", table_name="translation_jobs")
    op.drop_index("ix_translation_jobs_due", table_name="translation_jobs")
    op.drop_table("translation_jobs")
    op.drop_table("machine_translations")
    op.drop_table("catalogue_texts")
    op.drop_table("catalogue_versions")
