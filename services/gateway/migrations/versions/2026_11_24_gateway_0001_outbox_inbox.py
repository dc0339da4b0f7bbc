"""outbox and inbox

Revision ID: gateway_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from shared.migrations import create_outbox_and_inbox, drop_outbox_and_inbox

revision: str = "gateway_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_and_inbox()


def downgrade() -> None:
    drop_outbox_and_inbox()
