"""Events the repository service consumes (thin: parse, call one service function).

Directory snapshots keep the projection the access rules of every repository resolve against.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.repository.models import inbox
from services.repository.service import Clock, project_authority, project_user, utc_now
from shared.contracts.directory import AUTHORITY_EVENTS, USER_EVENTS
from shared.contracts.envelope import Envelope
from shared.messaging import EventConsumer


def build_consumer(clock: Clock = utc_now) -> EventConsumer:
    """A consumer of the service's queue; each app instance runs its own."""
    built = EventConsumer("repository", inbox)

    async def on_authority(session: AsyncSession, event: Any, envelope: Envelope) -> None:
        await project_authority(session, event.authority, clock())

    async def on_user(session: AsyncSession, event: Any, envelope: Envelope) -> None:
        await project_user(session, event.user, clock())

    for authority_event in AUTHORITY_EVENTS:
        built.on(authority_event)(on_authority)
    for user_event in USER_EVENTS:
        built.on(user_event)(on_user)
    return built


consumer = build_consumer()
