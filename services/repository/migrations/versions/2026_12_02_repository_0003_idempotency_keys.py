"""idempotency keys of record creations

Revision ID: repository_0003
Revises: repository_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from shared.idempotency import create_idempotency_keys

revision: str = "repository_0003"
down_revision: str | None = "repository_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_keys()


def downgrade() -> None:
    op.drop_table("idempotency_keys")
