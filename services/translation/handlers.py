"""Events the translation service consumes (thin: parse, call one service function)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.translation.models import inbox, outbox
from services.translation.service import accept_translation_request, utc_now
from shared.contracts.envelope import Envelope
from shared.contracts.translation import TranslationRequested
from shared.messaging import EventConsumer


def build_consumer() -> EventConsumer:
    """A consumer of the service's queue; each app instance runs its own."""
    built = EventConsumer("translation", inbox)

    @built.on(TranslationRequested)
    async def on_translation_requested(
        session: AsyncSession, event: TranslationRequested, envelope: Envelope
    ) -> None:
        await accept_translation_request(session, outbox, event, utc_now())

    return built


consumer = build_consumer()
