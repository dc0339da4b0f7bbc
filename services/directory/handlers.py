"""Events the directory service consumes (thin: parse, call one service function)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.directory.models import inbox
from services.directory.service import record_catalogue
from shared.contracts.envelope import Envelope
from shared.contracts.translation import CataloguePublished
from shared.messaging import EventConsumer


def build_consumer() -> EventConsumer:
    """A consumer of the service's queue; each app instance runs its own."""
    built = EventConsumer("directory", inbox)

    @built.on(CataloguePublished)
    async def on_catalogue_published(
        session: AsyncSession, event: CataloguePublished, envelope: Envelope
    ) -> None:
        await record_catalogue(session, event)

    return built


consumer = build_consumer()
