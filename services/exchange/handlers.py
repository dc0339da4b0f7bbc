"""Events the exchange service consumes (thin: parse, call one service function).

Directory snapshots keep the projection of authorities and users; catalogue publications keep
every catalogue version a request may have been written with.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange.models import inbox
from services.exchange.service import project_authority, project_catalogue, project_user
from shared.contracts import Event
from shared.contracts.directory import AUTHORITY_EVENTS, USER_EVENTS
from shared.contracts.envelope import Envelope
from shared.contracts.translation import CataloguePublished
from shared.messaging import EventConsumer


def build_consumer() -> EventConsumer:
    """A consumer of the service's queue; each app instance runs its own."""
    built = EventConsumer("exchange", inbox)

    async def on_authority(session: AsyncSession, event: Event, envelope: Envelope) -> None:
        await project_authority(session, getattr(event, "authority"))  # noqa: B009

    async def on_user(session: AsyncSession, event: Event, envelope: Envelope) -> None:
        await project_user(session, getattr(event, "user"))  # noqa: B009

    for event_type in AUTHORITY_EVENTS:
        built.on(event_type)(on_authority)
    for event_type in USER_EVENTS:
        built.on(event_type)(on_user)

    @built.on(CataloguePublished)
    async def on_catalogue(
        session: AsyncSession, event: CataloguePublished, envelope: Envelope
    ) -> None:
        await project_catalogue(session, event)

    return built


consumer = build_consumer()
