"""Every SQL statement of the exchange service, and the mapping of rows to domain objects."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    false,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.exchange.domain import (
    ActorRole,
    AuthorityProfile,
    AuthorityRef,
    DateProposal,
    FreeText,
    HistoryEntry,
    InformationRequest,
    Item,
    Participant,
    Rating,
    Side,
    State,
    UserProfile,
    VisibilityScope,
)
from services.exchange.models import (
    AttachmentRecord,
    AuthorityProjection,
    CatalogueVersionProjection,
    HistoryRecord,
    IdempotencyKey,
    PersonalDataAccess,
    PersonalDataRecord,
    RequestRecord,
    UserProjection,
)
from shared.contracts.directory import AuthoritySnapshot, UserSnapshot
from shared.contracts.translation import CataloguePublished
from shared.db import DriverStatement, Repository

requests = cast(Table, RequestRecord.__table__)
history = cast(Table, HistoryRecord.__table__)
attachments = cast(Table, AttachmentRecord.__table__)
personal = cast(Table, PersonalDataRecord.__table__)
access = cast(Table, PersonalDataAccess.__table__)
authorities = cast(Table, AuthorityProjection.__table__)
users = cast(Table, UserProjection.__table__)
idempotency_keys = cast(Table, IdempotencyKey.__table__)
catalogue_versions = cast(Table, CatalogueVersionProjection.__table__)


# --- mapping -------------------------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def request_values(
    request: InformationRequest,
    *,
    next_deadline_at: datetime | None,
    next_retention_at: datetime | None,
    overdue: bool,
) -> dict[str, Any]:
    """The row of a request; answers to personal-data questions are left out of the shell."""
    return {
        "id": request.id,
        "state": request.state.value,
        "version": request.version,
        "procedure": request.procedure,
        "area": request.area,
        "catalogue_version": request.catalogue_version,
        "retention_months": request.retention_months,
        "requesting_authority_id": request.requesting.id,
        "requesting_country": request.requesting.country,
        "requesting_region": request.requesting.region,
        "responding_authority_id": request.responding.id,
        "responding_country": request.responding.country,
        "responding_region": request.responding.region,
        "involved": [
            {"id": str(a.id), "country": a.country, "region": a.region} for a in request.involved
        ],
        "involved_authority_ids": list(request.involved_ids),
        "involved_countries": list(request.involved_countries),
        "involved_regions": list(request.involved_regions),
        "participant_user_ids": list(request.participant_ids),
        "participants": [
            {
                "user_id": str(p.user_id),
                "authority_id": str(p.authority_id) if p.authority_id else None,
                "role": p.role,
                "since": p.since.isoformat(),
            }
            for p in request.participants
        ],
        "items": [
            {
                "question": i.question,
                "personal_data": i.personal_data,
                "answer": None if i.personal_data or i.answer is None else dict(i.answer),
                "answered_at": _iso(i.answered_at),
            }
            for i in request.items
        ],
        "free_texts": [
            {
                "id": t.id,
                "text": t.text,
                "language": t.language,
                "side": t.side.value,
                "written_at": t.written_at.isoformat(),
                "written_by": str(t.written_by),
            }
            for t in request.free_texts
        ],
        "requested_reply_date": request.requested_reply_date,
        "reply_by": request.reply_by,
        "reply_date_agreed": request.reply_date_agreed,
        "date_proposal": {
            "date": request.date_proposal.date.isoformat(),
            "side": request.date_proposal.side.value,
            "proposed_at": request.date_proposal.proposed_at.isoformat(),
        }
        if request.date_proposal
        else None,
        "handler_user_id": request.handler_user_id,
        "created_by": request.created_by,
        "created_at": request.created_at,
        "updated_at": request.updated_at,
        "last_activity_at": request.last_activity_at,
        "sent_at": request.sent_at,
        "received_at": request.received_at,
        "accepted_at": request.accepted_at,
        "first_answered_at": request.first_answered_at,
        "answered_at": request.answered_at,
        "answer_accepted_at": request.answer_accepted_at,
        "formal_closure_at": request.formal_closure_at,
        "rating_timeliness": request.rating.timeliness if request.rating else None,
        "rating_effort": request.rating.effort if request.rating else None,
        "split_from": request.split_from,
        "acceptance_reminded_at": request.acceptance_reminded_at,
        "acceptance_overdue_at": request.acceptance_overdue_at,
        "reply_reminded_at": request.reply_reminded_at,
        "reply_overdue_at": request.reply_overdue_at,
        "overdue_escalated_at": request.overdue_escalated_at,
        "idle_escalated_at": request.idle_escalated_at,
        "overdue": overdue,
        "next_deadline_at": next_deadline_at,
        "personal_data_blocked_at": request.personal_data_blocked_at,
        "personal_data_deleted_at": request.personal_data_deleted_at,
        "next_retention_at": next_retention_at,
    }


def request_from_row(row: Mapping[Any, Any]) -> InformationRequest:
    proposal = row["date_proposal"]
    rating = (
        Rating(row["rating_timeliness"], row["rating_effort"])
        if row["rating_timeliness"] is not None
        else None
    )
    return InformationRequest(
        id=row["id"],
        state=State(row["state"]),
        version=row["version"],
        procedure=row["procedure"],
        area=row["area"],
        catalogue_version=row["catalogue_version"],
        retention_months=row["retention_months"],
        requesting=AuthorityRef(
            row["requesting_authority_id"], row["requesting_country"], row["requesting_region"]
        ),
        responding=AuthorityRef(
            row["responding_authority_id"], row["responding_country"], row["responding_region"]
        ),
        involved=tuple(
            AuthorityRef(uuid.UUID(a["id"]), a["country"], a["region"]) for a in row["involved"]
        ),
        items=tuple(
            Item(
                question=i["question"],
                personal_data=i["personal_data"],
                answer=i["answer"],
                answered_at=_dt(i["answered_at"]),
            )
            for i in row["items"]
        ),
        free_texts=tuple(
            FreeText(
                id=t["id"],
                text=t["text"],
                language=t["language"],
                side=Side(t["side"]),
                written_at=datetime.fromisoformat(t["written_at"]),
                written_by=uuid.UUID(t["written_by"]),
            )
            for t in row["free_texts"]
        ),
        requested_reply_date=row["requested_reply_date"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_activity_at=row["last_activity_at"],
        reply_by=row["reply_by"],
        reply_date_agreed=row["reply_date_agreed"],
        date_proposal=DateProposal(
            date.fromisoformat(proposal["date"]),
            Side(proposal["side"]),
            datetime.fromisoformat(proposal["proposed_at"]),
        )
        if proposal
        else None,
        handler_user_id=row["handler_user_id"],
        participants=tuple(
            Participant(
                uuid.UUID(p["user_id"]),
                uuid.UUID(p["authority_id"]) if p["authority_id"] else None,
                p["role"],
                datetime.fromisoformat(p["since"]),
            )
            for p in row["participants"]
        ),
        sent_at=row["sent_at"],
        received_at=row["received_at"],
        accepted_at=row["accepted_at"],
        first_answered_at=row["first_answered_at"],
        answered_at=row["answered_at"],
        answer_accepted_at=row["answer_accepted_at"],
        formal_closure_at=row["formal_closure_at"],
        rating=rating,
        split_from=row["split_from"],
        acceptance_reminded_at=row["acceptance_reminded_at"],
        acceptance_overdue_at=row["acceptance_overdue_at"],
        reply_reminded_at=row["reply_reminded_at"],
        reply_overdue_at=row["reply_overdue_at"],
        overdue_escalated_at=row["overdue_escalated_at"],
        idle_escalated_at=row["idle_escalated_at"],
        personal_data_blocked_at=row["personal_data_blocked_at"],
        personal_data_deleted_at=row["personal_data_deleted_at"],
    )


def history_values(request_id: uuid.UUID, entry: HistoryEntry) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "version": entry.version,
        "action": entry.action,
        "at": entry.at,
        "from_state": entry.from_state.value,
        "to_state": entry.to_state.value,
        "user_id": entry.user_id,
        "authority_id": entry.authority_id,
        "details": dict(entry.details),
    }


def history_from_row(row: Mapping[Any, Any]) -> HistoryEntry:
    at = row["at"]
    return HistoryEntry(
        version=row["version"],
        action=row["action"],
        at=at if isinstance(at, datetime) else datetime.fromisoformat(at),
        from_state=State(row["from_state"]),
        to_state=State(row["to_state"]),
        user_id=uuid.UUID(str(row["user_id"])) if row["user_id"] else None,
        authority_id=uuid.UUID(str(row["authority_id"])) if row["authority_id"] else None,
        details=row["details"] or {},
    )


def authority_profile(row: Mapping[Any, Any]) -> AuthorityProfile:
    return AuthorityProfile(
        id=row["id"],
        country=row["country"],
        region=row["region"],
        status=row["status"],
        competences={area: tuple(p) for area, p in (row["competences"] or {}).items()},
        languages=tuple(row["languages"] or ()),
    )


def user_profile(row: Mapping[Any, Any]) -> UserProfile:
    return UserProfile(
        id=row["id"],
        authority_id=row["authority_id"],
        country=row["country"],
        roles=tuple(ActorRole(r["name"], r.get("area"), r.get("region")) for r in row["roles"]),
        active=row["active"],
    )


# --- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    box: str  # incoming, outgoing, all
    state: str | None = None
    procedure: str | None = None
    overdue: bool | None = None


@dataclass(frozen=True)
class ViewParts:
    """What a request's detail view shows beside the request itself, read in one statement."""

    history: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    authorities: list[dict[str, Any]]
    data_subject_fields: list[str] | None  # None: no data subject part


# Built and compiled once, run on the transaction's driver connection (``DriverStatement``):
# the statements of every create, read and transition.
_INSERT_REQUEST = DriverStatement(requests.insert())
_UPDATE_REQUEST = DriverStatement(
    update(requests).where(requests.c.id == bindparam("b_request_id"))
)
_GET_REQUEST = select(requests).where(requests.c.id == bindparam("b_request_id"))
_READ_REQUEST = DriverStatement(_GET_REQUEST)
_READ_REQUEST_FOR_UPDATE = DriverStatement(_GET_REQUEST.with_for_update())
_INSERT_HISTORY = DriverStatement(history.insert())
# What a profile needs (not the titles in every language).
_AUTHORITY_PROFILES = DriverStatement(
    select(
        authorities.c.id,
        authorities.c.country,
        authorities.c.region,
        authorities.c.status,
        authorities.c.competences,
        authorities.c.languages,
    ).where(authorities.c.id == any_(bindparam("b_ids", type_=ARRAY(Uuid()))))
)


# Where a session keeps the request rows it read with their lock, as it read or last wrote them.
LOCKED_ROWS = "exchange_locked_request_rows"


class RequestRepository(Repository):
    async def insert(self, values: Mapping[str, Any]) -> None:
        await _INSERT_REQUEST.execute(self.session, values)

    async def update(self, values: Mapping[str, Any]) -> None:
        """The row's new values; when this transaction read the row with its lock, only the
        columns that differ from what it read (a transition changes a few of some fifty)."""
        locked: dict[uuid.UUID, dict[str, Any]] = self.session.info.get(LOCKED_ROWS, {})
        before = locked.get(values["id"])
        changes = {
            k: v
            for k, v in values.items()
            if k not in ("id", "created_at", "created_by")
            and (before is None or k not in before or before[k] != v)
        }
        await _UPDATE_REQUEST.execute(self.session, {"b_request_id": values["id"], **changes})
        if before is not None:  # what the row holds now, for a second change in this transaction
            before.update(changes)

    async def get(self, request_id: uuid.UUID, *, lock: bool = False) -> InformationRequest | None:
        statement = _READ_REQUEST_FOR_UPDATE if lock else _READ_REQUEST
        row = await statement.fetchrow(self.session, {"b_request_id": request_id})
        if row is None:
            return None
        if lock:  # no other transaction changes it before this one ends
            self.session.info.setdefault(LOCKED_ROWS, {})[request_id] = dict(row)
        return request_from_row(row)

    async def add_history(self, request_id: uuid.UUID, entries: Sequence[HistoryEntry]) -> None:
        await _INSERT_HISTORY.executemany(
            self.session, [history_values(request_id, e) for e in entries]
        )

    async def history(self, request_id: uuid.UUID) -> list[HistoryEntry]:
        rows = await self.session.execute(
            select(history).where(history.c.request_id == request_id).order_by(history.c.id)
        )
        return [history_from_row(r) for r in rows.mappings()]

    async def view_parts(self, request: InformationRequest) -> ViewParts:
        """History, attachments, the involved authorities' names and the data subject part's
        field names (never its values), in one round trip."""
        row = await _VIEW_PARTS.fetchrow(
            self.session,
            {
                "request_id": request.id,
                "authority_ids": list(request.involved_ids) or [request.requesting.id],
            },
        )
        assert row is not None  # one row of subqueries, always
        return ViewParts(
            history=list(row["history"]),
            attachments=list(row["attachments"]),
            authorities=list(row["authorities"]),
            data_subject_fields=list(row["subject"]) if row["subject"] is not None else None,
        )

    async def visible(
        self,
        scope: VisibilityScope,
        filters: ListFilters,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        conditions: list[ColumnElement[bool]] = [_visible_to(scope)]
        if filters.box == "outgoing":
            conditions.append(requests.c.requesting_authority_id == scope.authority_id)
        elif filters.box == "incoming":
            conditions.append(requests.c.responding_authority_id == scope.authority_id)
            conditions.append(requests.c.state != State.DRAFT.value)
        if filters.state is not None:
            conditions.append(requests.c.state == filters.state)
        if filters.procedure is not None:
            conditions.append(requests.c.procedure == filters.procedure)
        if filters.overdue is not None:
            conditions.append(requests.c.overdue.is_(filters.overdue))
        if after is not None:
            conditions.append(tuple_(requests.c.created_at, requests.c.id) < tuple_(*after))
        rows = await self.session.execute(
            select(
                requests.c.id,
                requests.c.state,
                requests.c.version,
                requests.c.procedure,
                requests.c.area,
                requests.c.catalogue_version,
                requests.c.requesting_authority_id,
                requests.c.requesting_country,
                requests.c.responding_authority_id,
                requests.c.responding_country,
                requests.c.reply_by,
                requests.c.overdue,
                requests.c.handler_user_id,
                requests.c.created_at,
                requests.c.sent_at,
                requests.c.updated_at,
                requests.c.formal_closure_at,
                requests.c.split_from,
                func.jsonb_array_length(requests.c["items"]).label("question_count"),
            )
            .where(and_(*conditions))
            .order_by(requests.c.created_at.desc(), requests.c.id.desc())
            .limit(limit)
        )
        return [dict(r) for r in rows.mappings()]

    async def due_for_deadlines(self, now: datetime, limit: int) -> list[InformationRequest]:
        """Requests with a deadline step due; rows another replica holds are skipped."""
        rows = await self.session.execute(
            select(requests)
            .where(requests.c.next_deadline_at <= now)
            .order_by(requests.c.next_deadline_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [request_from_row(r) for r in rows.mappings()]

    async def due_for_retention(self, now: datetime, limit: int) -> list[InformationRequest]:
        rows = await self.session.execute(
            select(requests)
            .where(requests.c.next_retention_at <= now)
            .order_by(requests.c.next_retention_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [request_from_row(r) for r in rows.mappings()]

    async def blank_history_texts(self, request_id: uuid.UUID) -> None:
        """Drop the free-text parts (reasons, texts) of a request's history entries."""
        await self.session.execute(
            update(history)
            .where(history.c.request_id == request_id)
            .values(details=history.c.details.op("-")(literal(["reason", "text"], ARRAY(Text()))))
        )

    async def statistics(
        self,
        *,
        side: str,
        country: str | None,
        area: str | None,
        sent_from: datetime | None,
        sent_to: datetime | None,
        now: datetime,
        acceptance_days: int,
    ) -> list[dict[str, Any]]:
        """Scoreboard indicators per (country, area) and in total, over the non-personal shell
        of the requests sent in the period (``level`` 0 for a group, 1 for the total)."""
        rows = await self.session.execute(
            text(
                STATISTICS.format(
                    country="responding_country" if side == "responding" else "requesting_country",
                    state_counts=",\n".join(
                        f"count(*) FILTER (WHERE state = '{s.value}') AS state_{s.value}"
                        for s in State
                        if s is not State.DRAFT
                    ),
                )
            ),
            {
                "country": country,
                "area": area,
                "sent_from": sent_from,
                "sent_to": sent_to,
                "now": now,
                "acceptance_days": acceptance_days,
            },
        )
        return [dict(r) for r in rows.mappings()]


VIEW_PARTS = text(
    """
    SELECT
      (SELECT coalesce(jsonb_agg(jsonb_build_object(
          'version', h.version, 'action', h.action, 'at', h.at, 'from_state', h.from_state,
          'to_state', h.to_state, 'user_id', h.user_id, 'authority_id', h.authority_id,
          'details', h.details) ORDER BY h.id), '[]'::jsonb)
         FROM request_history h WHERE h.request_id = :request_id) AS history,
      (SELECT coalesce(jsonb_agg(jsonb_build_object(
          'id', a.id, 'filename', a.filename, 'content_type', a.content_type, 'size', a.size,
          'sha256', a.sha256, 'personal_data', a.personal_data, 'side', a.side,
          'uploaded_by', a.uploaded_by, 'uploaded_at', a.uploaded_at)
          ORDER BY a.uploaded_at, a.id), '[]'::jsonb)
         FROM attachments a WHERE a.request_id = :request_id AND NOT a.removal_pending)
        AS attachments,
      (SELECT coalesce(jsonb_agg(jsonb_build_object(
          'id', au.id, 'official_name', au.official_name, 'name_language', au.name_language,
          'informal_titles', au.informal_titles, 'country', au.country, 'region', au.region)),
          '[]'::jsonb)
         FROM authorities au WHERE au.id = ANY(:authority_ids)) AS authorities,
      (SELECT array(SELECT jsonb_object_keys(p.data_subject))
         FROM request_personal_data p
        WHERE p.request_id = :request_id AND jsonb_typeof(p.data_subject) = 'object') AS subject
    """
).bindparams(
    bindparam("request_id", type_=Uuid()),
    bindparam("authority_ids", type_=ARRAY(Uuid())),
)
_VIEW_PARTS = DriverStatement(VIEW_PARTS)

STATISTICS = """
    SELECT {country} AS country, area, GROUPING({country}, area) AS level,
      count(*) AS sent,
      count(*) FILTER (WHERE accepted_at IS NOT NULL
                          OR received_at + make_interval(days => :acceptance_days) <= :now)
        AS acceptance_decided,
      count(*) FILTER (WHERE accepted_at IS NOT NULL
                         AND accepted_at <= received_at + make_interval(days => :acceptance_days))
        AS accepted_within,
      count(*) FILTER (WHERE first_answered_at IS NOT NULL) AS answered,
      avg(extract(epoch FROM first_answered_at - sent_at) / 86400.0)
        FILTER (WHERE first_answered_at IS NOT NULL) AS average_reply_days,
      count(*) FILTER (WHERE first_answered_at IS NOT NULL AND reply_by IS NOT NULL)
        AS answered_with_date,
      count(*) FILTER (WHERE first_answered_at IS NOT NULL AND reply_by IS NOT NULL
                         AND (first_answered_at AT TIME ZONE 'UTC')::date <= reply_by)
        AS answered_by_date,
      count(*) FILTER (WHERE rating_timeliness IS NOT NULL) AS rated,
      count(*) FILTER (WHERE least(rating_timeliness, rating_effort) <= 2) AS negative,
      {state_counts}
    FROM requests
    WHERE sent_at IS NOT NULL
      AND (CAST(:country AS text) IS NULL OR {country} = :country)
      AND (CAST(:area AS text) IS NULL OR area = :area)
      AND (CAST(:sent_from AS timestamptz) IS NULL OR sent_at >= :sent_from)
      AND (CAST(:sent_to AS timestamptz) IS NULL OR sent_at < :sent_to)
    GROUP BY GROUPING SETS (({country}, area), ())
    ORDER BY level, country, area
"""


def _visible_to(scope: VisibilityScope) -> ColumnElement[bool]:
    """``domain.can_see`` as a condition on the requests table."""
    conditions: list[ColumnElement[bool]] = [
        requests.c.participant_user_ids.contains([scope.user_id])
    ]
    if scope.authority_id is not None and (scope.authority_areas is None or scope.authority_areas):
        own = requests.c.involved_authority_ids.contains([scope.authority_id])
        if scope.authority_areas is not None:
            own = and_(own, requests.c.area.in_(sorted(scope.authority_areas)))
        conditions.append(own)
    if scope.country is not None:
        in_country = requests.c.involved_countries.contains([scope.country])
        if scope.whole_country:
            conditions.append(in_country)
        for area, region in scope.delegated:
            delegated: list[ColumnElement[bool]] = [in_country]
            if area is not None:
                delegated.append(requests.c.area == area)
            if region is not None:
                delegated.append(requests.c.involved_regions.contains([region]))
            conditions.append(and_(*delegated))
    return or_(*conditions) if conditions else false()


# --- personal data -------------------------------------------------------------------------------


_subject_row = pg_insert(personal)
# The data subject part of a request, put whole (answers given later are kept).
_PUT_SUBJECT = DriverStatement(
    _subject_row.on_conflict_do_update(
        index_elements=["request_id"],
        set_={
            "data_subject": _subject_row.excluded.data_subject,
            "updated_at": _subject_row.excluded.updated_at,
        },
    )
)


class PersonalDataRepository(Repository):
    async def put_subject(
        self, request_id: uuid.UUID, data_subject: dict[str, Any] | None, now: datetime
    ) -> None:
        await _PUT_SUBJECT.execute(
            self.session,
            {
                "request_id": request_id,
                "data_subject": data_subject,
                "answers": {},
                "updated_at": now,
            },
        )

    async def merge_answers(
        self, request_id: uuid.UUID, answers: Mapping[str, Any], now: datetime
    ) -> None:
        if not answers:
            return
        statement = pg_insert(personal).values(
            request_id=request_id, data_subject=None, answers=dict(answers), updated_at=now
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["request_id"],
                set_={
                    "answers": personal.c.answers.op("||")(statement.excluded.answers),
                    "updated_at": now,
                },
            )
        )

    async def get(self, request_id: uuid.UUID) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(personal).where(personal.c.request_id == request_id)
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def copy(
        self, source: uuid.UUID, target: uuid.UUID, questions: Iterable[str], now: datetime
    ) -> None:
        """The data subject part, and the answers to ``questions``, into another request."""
        found = await self.get(source)
        if found is None:
            return
        keys = set(questions)
        await self.session.execute(
            personal.insert().values(
                request_id=target,
                data_subject=found["data_subject"],
                answers={k: v for k, v in found["answers"].items() if k in keys},
                updated_at=now,
            )
        )

    async def delete(self, request_id: uuid.UUID) -> None:
        await self.session.execute(delete(personal).where(personal.c.request_id == request_id))

    async def record_access(self, values: Mapping[str, Any]) -> None:
        await self.session.execute(access.insert().values(**values))

    async def access_log(
        self, request_id: uuid.UUID, after: int | None, limit: int
    ) -> list[dict[str, Any]]:
        conditions = [access.c.request_id == request_id]
        if after is not None:
            conditions.append(access.c.id > after)
        rows = await self.session.execute(
            select(access).where(*conditions).order_by(access.c.id).limit(limit)
        )
        return [dict(r) for r in rows.mappings()]


# --- attachments ---------------------------------------------------------------------------------


class AttachmentRepository(Repository):
    async def add(self, values: Mapping[str, Any]) -> None:
        await self.session.execute(attachments.insert().values(**values))

    async def of_request(self, request_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(attachments)
            .where(attachments.c.request_id == request_id, attachments.c.removal_pending.is_(False))
            .order_by(attachments.c.uploaded_at, attachments.c.id)
        )
        return [dict(r) for r in rows.mappings()]

    async def get(self, request_id: uuid.UUID, attachment_id: uuid.UUID) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(attachments).where(
                        attachments.c.id == attachment_id,
                        attachments.c.request_id == request_id,
                        attachments.c.removal_pending.is_(False),
                    )
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def ids_of_side(self, request_id: uuid.UUID, side: str) -> frozenset[uuid.UUID]:
        rows = await self.session.scalars(
            select(attachments.c.id).where(
                attachments.c.request_id == request_id,
                attachments.c.side == side,
                attachments.c.removal_pending.is_(False),
            )
        )
        return frozenset(rows)

    async def mark_personal(self, request_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> None:
        wanted = list(ids)
        if wanted:
            await self.session.execute(
                update(attachments)
                .where(attachments.c.request_id == request_id, attachments.c.id.in_(wanted))
                .values(personal_data=True)
            )

    async def mark_removal(self, request_id: uuid.UUID, *, personal_only: bool = False) -> int:
        conditions = [attachments.c.request_id == request_id]
        if personal_only:
            conditions.append(attachments.c.personal_data.is_(True))
        result = await self.session.execute(
            update(attachments).where(*conditions).values(removal_pending=True)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def pending_removals(self, limit: int) -> list[tuple[uuid.UUID, str]]:
        rows = await self.session.execute(
            select(attachments.c.id, attachments.c.storage_key)
            .where(attachments.c.removal_pending.is_(True))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(r.id, r.storage_key) for r in rows]

    async def forget(self, ids: Sequence[uuid.UUID]) -> None:
        if ids:
            await self.session.execute(delete(attachments).where(attachments.c.id.in_(list(ids))))


# --- idempotency ---------------------------------------------------------------------------------


class IdempotencyRepository(Repository):
    async def claim(
        self, user_id: uuid.UUID, key: str, fingerprint: str, request_id: uuid.UUID
    ) -> tuple[uuid.UUID, str] | None:
        """Claim ``key`` for a new request; when it was claimed before (a concurrent claim waits
        for the first to commit), the (request id, fingerprint) it was claimed with."""
        table = idempotency_keys
        inserted = await self.session.execute(
            pg_insert(table)
            .values(user_id=user_id, key=key, fingerprint=fingerprint, request_id=request_id)
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(table.c.request_id)
        )
        if inserted.first() is not None:
            return None
        row = (
            await self.session.execute(
                select(table.c.request_id, table.c.fingerprint).where(
                    table.c.user_id == user_id, table.c.key == key
                )
            )
        ).one()
        return row.request_id, row.fingerprint

    async def purge(self, before: datetime) -> int:
        table = idempotency_keys
        result = await self.session.execute(delete(table).where(table.c.created_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


# --- projections ---------------------------------------------------------------------------------


class ProjectionRepository(Repository):
    async def put_authority(self, snapshot: AuthoritySnapshot) -> None:
        """Upsert the snapshot unless a newer version is held (redelivery, reordering)."""
        # area -> procedures; an empty list means every procedure of the area
        competences: dict[str, list[str]] = {}
        for competence in snapshot.competences:
            known = competences.get(competence.area)
            if not competence.procedures:
                competences[competence.area] = []
            elif known is None:
                competences[competence.area] = list(dict.fromkeys(competence.procedures))
            elif known:
                known.extend(p for p in competence.procedures if p not in known)
        values = {
            "id": snapshot.id,
            "country": snapshot.country,
            "region": snapshot.region,
            "level": snapshot.level.value,
            "status": snapshot.status.value,
            "official_name": snapshot.official_name,
            "name_language": snapshot.name_language,
            "informal_titles": dict(snapshot.informal_titles),
            "languages": list(snapshot.languages),
            "competences": competences,
            "version": snapshot.version,
        }
        self.session.info.pop("exchange_authority_profiles", None)
        statement = pg_insert(authorities).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={k: statement.excluded[k] for k in values if k != "id"},
                where=authorities.c.version < statement.excluded.version,
            )
        )

    async def put_user(self, snapshot: UserSnapshot) -> None:
        values = {
            "id": snapshot.id,
            "authority_id": snapshot.authority_id,
            "country": snapshot.country,
            "username": snapshot.username,
            "display_name": snapshot.display_name,
            "language": snapshot.language,
            "roles": [r.model_dump() for r in snapshot.roles],
            "active": snapshot.active,
            "version": snapshot.version,
        }
        statement = pg_insert(users).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={k: statement.excluded[k] for k in values if k != "id"},
                where=users.c.version < statement.excluded.version,
            )
        )

    async def put_catalogue(self, event: CataloguePublished) -> bool:
        table = catalogue_versions
        result = await self.session.execute(
            pg_insert(table)
            .values(
                version=event.version,
                published_at=event.published_at,
                procedures=[p.model_dump(mode="json") for p in event.procedures],
                area_names=event.area_names,
                procedure_names=event.procedure_names,
            )
            .on_conflict_do_nothing(index_elements=["version"])
            .returning(table.c.version)
        )
        return result.first() is not None

    async def catalogue(self, version: str) -> dict[str, Any] | None:
        table = catalogue_versions
        row = (
            (await self.session.execute(select(table).where(table.c.version == version)))
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def latest_catalogue_version(self) -> str | None:
        table = catalogue_versions
        return await self.session.scalar(
            select(table.c.version)
            .order_by(table.c.published_at.desc(), table.c.received_at.desc())
            .limit(1)
        )

    async def authorities(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, AuthorityProfile]:
        """Profiles by id; each is read once per transaction (a use case asks more than once)."""
        known: dict[uuid.UUID, AuthorityProfile | None] = self.session.info.setdefault(
            "exchange_authority_profiles", {}
        )
        wanted = list(dict.fromkeys(ids))
        missing = [i for i in wanted if i not in known]
        if missing:
            rows = await _AUTHORITY_PROFILES.fetch(self.session, {"b_ids": missing})
            found = {r["id"]: authority_profile(r) for r in rows}
            known.update({i: found.get(i) for i in missing})
        return {i: profile for i in wanted if (profile := known[i]) is not None}

    async def authority(self, authority_id: uuid.UUID) -> AuthorityProfile | None:
        return (await self.authorities([authority_id])).get(authority_id)

    async def user(self, user_id: uuid.UUID) -> UserProfile | None:
        row = (
            (await self.session.execute(select(users).where(users.c.id == user_id)))
            .mappings()
            .first()
        )
        return user_profile(row) if row is not None else None

    async def national_coordinators(self, countries: Iterable[str]) -> dict[str, list[UserProfile]]:
        wanted = sorted(set(countries))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(users)
            .where(
                users.c.country.in_(wanted),
                users.c.active.is_(True),
                users.c.roles.contains([{"name": "national_coordinator"}]),
            )
            .order_by(users.c.username)
        )
        found: dict[str, list[UserProfile]] = {}
        for row in rows.mappings():
            found.setdefault(row["country"], []).append(user_profile(row))
        return found
