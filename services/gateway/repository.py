"""Every SQL statement of the gateway."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update

from services.gateway.models import SignInAttempt, SignInSession
from shared.db import Repository


class SignInRepository(Repository):
    async def failures_since(self, username: str, since: datetime) -> list[datetime]:
        rows = await self.session.scalars(
            select(SignInAttempt.at).where(
                SignInAttempt.username == username,
                SignInAttempt.succeeded.is_(False),
                SignInAttempt.at >= since,
            )
        )
        return list(rows)

    async def record_attempt(self, username: str, client: str, succeeded: bool) -> None:
        self.session.add(SignInAttempt(username=username, client=client, succeeded=succeeded))
        await self.session.flush()

    async def add_session(self, record: SignInSession) -> None:
        self.session.add(record)
        await self.session.flush()

    async def live_session(self, token_hash: str, now: datetime) -> SignInSession | None:
        return await self.session.scalar(
            select(SignInSession).where(
                SignInSession.token_hash == token_hash,
                SignInSession.revoked_at.is_(None),
                SignInSession.expires_at > now,
            )
        )

    async def revoke(self, token_hash: str, now: datetime) -> None:
        await self.session.execute(
            update(SignInSession)
            .where(SignInSession.token_hash == token_hash)
            .values(revoked_at=now)
        )

    async def revoke_user(self, user_id: UUID, now: datetime) -> None:
        await self.session.execute(
            update(SignInSession)
            .where(SignInSession.user_id == user_id, SignInSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
