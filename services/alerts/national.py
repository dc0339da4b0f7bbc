"""Commands of national IT systems for alerts: draft, submit, acknowledge.

A command acts for a user of the alerts service's directory projection (``username`` at
``authority_id``, of the publishing country) through the same use cases as the web API, so the
same role, state and version rules apply.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts.domain import Action
from services.alerts.models import AuthorityRecord, UserRecord
from services.alerts.schemas import DraftIn
from services.alerts.service import ActionInput, AlertsContext, DraftInput, act, draft_alert
from shared.contracts.national import AcknowledgeAlert, Command, DraftAlert, SubmitAlert
from shared.identity import Identity
from shared.national import Accepted, CommandRejected, KnownUser, acting_identity


async def identity_for(session: AsyncSession, country: str, command: Command) -> Identity:
    """The named user of the named authority, as the alerts service's projection knows them."""
    authority = await session.get(AuthorityRecord, command.authority_id)
    user = await session.scalar(
        select(UserRecord).where(
            UserRecord.username == command.username.strip().lower(),
            UserRecord.authority_id == command.authority_id,
            UserRecord.active.is_(True),
        )
    )
    return acting_identity(
        country,
        (authority.country, authority.region) if authority is not None else None,
        KnownUser(u.id, u.username, u.authority_id, u.country, u.roles, u.language)
        if (u := user) is not None
        else None,
    )


def _accepted(view: dict[str, Any]) -> Accepted:
    return Accepted(uuid.UUID(view["id"]), int(view["version"]), view["state"])


class AlertCommands:
    """Applies the alert commands of national systems."""

    def __init__(self, ctx: AlertsContext) -> None:
        self.ctx = ctx

    async def __call__(self, session: AsyncSession, country: str, command: Command) -> Accepted:
        identity = await identity_for(session, country, command)
        reader = identity.language
        if isinstance(command, DraftAlert):
            try:
                body = DraftIn.model_validate(command.draft)
            except ValidationError as exc:
                error = exc.errors()[0]
                path = ".".join(str(p) for p in ("draft", *error.get("loc", ())))
                raise CommandRejected("invalid-input", error["msg"], field=path) from exc
            view, _ = await draft_alert(
                session,
                self.ctx,
                identity,
                DraftInput(
                    procedure=body.procedure,
                    catalogue_version=body.catalogue_version,
                    content=body.content.to_input(),
                    language=body.language,
                    profession=body.profession,
                    professional=body.professional.to_input() if body.professional else None,
                    deciding_authority=body.deciding_authority,
                ),
                idempotency_key=None,
                reader=reader,
            )
            return _accepted(view)
        if isinstance(command, SubmitAlert | AcknowledgeAlert):
            action = Action.SUBMIT if isinstance(command, SubmitAlert) else Action.ACKNOWLEDGE
            view = await act(
                session,
                self.ctx,
                identity,
                command.alert_id,
                action,
                ActionInput(),
                if_match=f'"{command.version}"' if command.version is not None else None,
                reader=reader,
            )
            return _accepted(view)
        raise CommandRejected("unknown-command", f"no handler for {command.name}")
