"""Events the alerts service consumes (thin: parse, call one service function).

Directory snapshots keep the projection the fan-out resolves recipients from; catalogue
versions validate and name the content; machine translations of our free texts come back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts.models import inbox
from services.alerts.service import (
    Clock,
    project_authority,
    project_user,
    record_catalogue,
    record_translation,
    utc_now,
)
from shared.contracts.directory import AUTHORITY_EVENTS, USER_EVENTS
from shared.contracts.envelope import Envelope
from shared.contracts.translation import CataloguePublished, TranslationCompleted
from shared.messaging import EventConsumer


def build_consumer(clock: Clock = utc_now) -> EventConsumer:
    """A consumer of the service's queue; each app instance runs its own."""
    built = EventConsumer("alerts", inbox)

    async def on_authority(session: AsyncSession, event: Any, envelope: Envelope) -> None:
        await project_authority(session, event.authority, clock())

    async def on_user(session: AsyncSession, event: Any, envelope: Envelope) -> None:
        await project_user(session, event.user, clock())

    for authority_event in AUTHORITY_EVENTS:
        built.on(authority_event)(on_authority)
    for user_event in USER_EVENTS:
        built.on(user_event)(on_user)

    @built.on(CataloguePublished)
    async def on_catalogue(
        session: AsyncSession, event: CataloguePublished, envelope: Envelope
    ) -> None:
        await record_catalogue(session, event, clock())

    @built.on(TranslationCompleted)
    async def on_translation(
        session: AsyncSession, event: TranslationCompleted, envelope: Envelope
    ) -> None:
        await record_translation(session, event, clock())

    return built


# The consumer with the real clock: its binding keys are what the topology declares.
consumer = build_consumer()
