"""Commands of national IT systems for requests, and the events their authorities are told.

A command acts for a user of the directory projection (``username`` at ``authority_id``, which
must belong to the publishing country) and goes through the same use cases as the web API, so
the same role, state and version rules apply. Outbound: every request event is also addressed
on ``imi.outbound`` to each involved authority (``<country>.<authority id>.<event type>``),
structured and with the procedure and area named in the authority's language.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange import service
from services.exchange.domain import AnswerInput
from services.exchange.models import AuthorityProjection, UserProjection
from services.exchange.schemas import AcceptAnswerIn, AnswerIn, DraftIn, FreeTextIn, RequestInfoIn
from services.exchange.service import ExchangeDesk
from shared.contracts.national import (
    AcceptAnswer,
    AcceptRequest,
    AnswerRequest,
    Command,
    RequestInformation,
    SendRequest,
)
from shared.identity import Identity
from shared.national import Accepted, CommandRejected, KnownUser, acting_identity

M = TypeVar("M", bound=BaseModel)


async def identity_for(session: AsyncSession, country: str, command: Command) -> Identity:
    """The named user of the named authority, as the exchange's projection knows them."""
    authority = await session.get(AuthorityProjection, command.authority_id)
    user = await session.scalar(
        select(UserProjection).where(
            UserProjection.username == command.username.strip().lower(),
            UserProjection.authority_id == command.authority_id,
            UserProjection.active.is_(True),
        )
    )
    return acting_identity(
        country,
        (authority.country, authority.region) if authority is not None else None,
        KnownUser(u.id, u.username, u.authority_id, u.country, u.roles, u.language)
        if (u := user) is not None
        else None,
    )


def _body(model: type[M], raw: dict[str, Any], field: str) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(p) for p in (field, *error.get("loc", ())))
        raise CommandRejected("invalid-input", error["msg"], field=path) from exc


def _accepted(view: dict[str, Any]) -> Accepted:
    return Accepted(uuid.UUID(view["id"]), int(view["version"]), view["state"])


class RequestCommands:
    """Applies the request commands of national systems."""

    def __init__(self, desk: ExchangeDesk) -> None:
        self.desk = desk

    async def __call__(self, session: AsyncSession, country: str, command: Command) -> Accepted:
        identity = await identity_for(session, country, command)
        language = identity.language
        desk = self.desk
        if isinstance(command, SendRequest):
            draft = _body(DraftIn, command.draft, "draft")
            view, _ = await service.create_draft(session, desk, identity, draft, None, language)
            view = await service.send_request(
                session, desk, identity, uuid.UUID(view["id"]), int(view["version"]), language
            )
            return _accepted(view)
        if isinstance(command, AcceptRequest):
            view = await service.accept_request(
                session, desk, identity, command.request_id, command.version, language
            )
            return _accepted(view)
        if isinstance(command, AnswerRequest):
            answer = _body(AnswerIn, command.answer, "answer")
            view = await service.answer_request(
                session,
                desk,
                identity,
                command.request_id,
                command.version,
                [AnswerInput(a.question, a.answer) for a in answer.answers],
                answer.free_texts,
                language,
            )
            return _accepted(view)
        if isinstance(command, RequestInformation):
            info = _body(RequestInfoIn, command.info, "info")
            view = await service.request_information(
                session,
                desk,
                identity,
                command.request_id,
                command.version,
                FreeTextIn(text=info.text, language=info.language),
                info.questions,
                info.reply_by,
                language,
            )
            return _accepted(view)
        if isinstance(command, AcceptAnswer):
            rating = _body(AcceptAnswerIn, command.rating, "rating")
            view = await service.accept_answer(
                session,
                desk,
                identity,
                command.request_id,
                command.version,
                rating.timeliness,
                rating.effort,
                language,
            )
            return _accepted(view)
        raise CommandRejected("unknown-command", f"no handler for {command.name}")
