"""btree indexes on the text-search table's country and level

A word search within a country or at a level combines the text-search (GIN) matches with these
by bitmap, instead of rechecking every match of the word in the whole network.

Revision ID: directory_0003
Revises: directory_0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "directory_0003"
down_revision: str | None = "directory_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_authority_text_country", "authority_text", ["country"])
    op.create_index("ix_authority_text_level", "authority_text", ["level"])


def downgrade() -> None:
    op.drop_index("ix_authority_text_level", table_name="authority_text")
    op.drop_index("ix_authority_text_country", table_name="authority_text")
