"""commands of national IT systems, with their replies

Revision ID: alerts_0003
Revises: alerts_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from shared.national import create_national_commands

revision: str = "alerts_0003"
down_revision: str | None = "alerts_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_national_commands()


def downgrade() -> None:
    op.drop_table("national_commands")
