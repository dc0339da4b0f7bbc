"""Pure rules: the state machine and who may drive it, visibility, content, reply dates,
deadlines, retention, replay of the history, and what a file really is."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.exchange import domain
from services.exchange.domain import (
    Action,
    Actor,
    ActorRole,
    AnswerInput,
    AuthorityProfile,
    DeadlinePolicy,
    InformationRequest,
    Outcome,
    ProcedureRule,
    Rating,
    RetentionPolicy,
    Side,
    State,
    TextInput,
    UserProfile,
)
from services.exchange.file_types import (
    DOCX,
    JPEG,
    ODT,
    PDF,
    PNG,
    TEXT,
    TIFF,
    ContentSniffer,
    UnsupportedContent,
    ZipListing,
    check_declared,
)
from shared.contracts.translation import AnswerType, ProcedureKind, ProcedureSpec
from shared.languages import reader_language
from shared.problems import Conflict, DomainError, Forbidden, InvalidInput

PQ = "professional_qualifications"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
POLICY = DeadlinePolicy()
RETENTION = RetentionPolicy()

PROCEDURE = ProcedureRule.from_spec(
    ProcedureSpec.model_validate(
        {
            "key": "pq_establishment",
            "area": PQ,
            "legal_basis": "Directive 2005/36/EC",
            "retention_months": 6,
            "question_sets": [
                {
                    "key": "diploma",
                    "questions": [
                        {"key": "authentic", "type": "yes_no"},
                        {"key": "body", "type": "choice", "options": ["university", "college"]},
                        {"key": "awarded", "type": "date"},
                        {"key": "notes", "type": "free_text"},
                        {"key": "copy", "type": "document", "personal_data": True},
                        {"key": "sanctions", "type": "yes_no", "personal_data": True},
                    ],
                }
            ],
        }
    )
)


def authority(country: str, *, region: str | None = None, **kw: Any) -> AuthorityProfile:
    return AuthorityProfile(
        id=kw.pop("id", uuid.uuid4()),
        country=country,
        region=region,
        status=kw.pop("status", "active"),
        competences=kw.pop("competences", {PQ: ("pq_establishment",)}),
        languages=kw.pop("languages", (country,)),
    )


PT = authority("pt", region="PT-11")
DE = authority("de", region="DE-BE")
DE_BY = authority("de", region="DE-BY")
DE_OFF = authority("de", status="deactivated")
DE_SERVICES = authority("de", competences={"services": ()})
FR = authority("fr")
HANDLER = ActorRole("request_handler")
ALLOCATOR = ActorRole("request_allocator")


def actor(of: AuthorityProfile | None, *roles: ActorRole, language: str = "en") -> Actor:
    return Actor(
        user_id=uuid.uuid4(),
        authority_id=of.id if of else None,
        country=of.country if of else "de",
        roles=roles,
        language=language,
    )


PT_HANDLER = actor(PT, HANDLER, ALLOCATOR, language="pt")
DE_HANDLER = actor(DE, HANDLER, language="de")
DE_ALLOCATOR = actor(DE, ALLOCATOR, language="de")
DE_BY_HANDLER = actor(DE_BY, HANDLER, language="de")
FR_HANDLER = actor(FR, HANDLER, language="fr")
DE_SERVICES_HANDLER = actor(DE, ActorRole("request_handler", area="services"))
DE_STAFF = UserProfile(uuid.uuid4(), DE.id, "de", (HANDLER,), True)


def draft(**changes: Any) -> InformationRequest:
    outcome = domain.new_draft(
        request_id=uuid.uuid4(),
        actor=PT_HANDLER,
        requesting=PT,
        responding=DE,
        procedure=PROCEDURE,
        catalogue_version="v1",
        question_keys=["authentic", "body", "awarded", "notes", "copy", "sanctions"],
        free_texts=[TextInput("Pedimos a confirmação do diploma.", "pt")],
        requested_reply_date=NOW.date() + timedelta(days=20),
        now=NOW,
    )
    return replace(outcome.request, **changes)


def sent() -> InformationRequest:
    return domain.send(PT_HANDLER, draft(), NOW, POLICY).request


def accepted() -> InformationRequest:
    return domain.accept(DE_HANDLER, sent(), NOW).request


def answered() -> InformationRequest:
    return domain.answer(
        DE_HANDLER,
        accepted(),
        PROCEDURE,
        [AnswerInput("authentic", {"option": "yes"})],
        [],
        frozenset(),
        NOW,
    ).request


# --- the state machine, action by action ---------------------------------------------------------


STATES_BY_NAME: dict[State, Callable[[], InformationRequest]] = {
    State.DRAFT: draft,
    State.SENT: sent,
    State.ACCEPTED: accepted,
    State.ANSWERED: answered,
}


class TestWhoMayDoWhat:
    @pytest.mark.parametrize(
        ("state", "who", "expected"),
        [
            (State.DRAFT, PT_HANDLER, ["send", "withdraw"]),
            (State.DRAFT, DE_HANDLER, []),
            (State.SENT, DE_HANDLER, ["accept", "reject", "forward", "split", "propose-date"]),
            (State.SENT, PT_HANDLER, ["propose-date", "withdraw"]),
            (State.SENT, DE_ALLOCATOR, []),
            (State.ACCEPTED, DE_ALLOCATOR, ["allocate"]),
            (State.ACCEPTED, DE_HANDLER, ["forward", "split", "propose-date", "answer"]),
            (State.ANSWERED, PT_HANDLER, ["request-info", "accept-answer"]),
            (State.ANSWERED, DE_HANDLER, []),
            (State.SENT, FR_HANDLER, []),
            (State.SENT, DE_SERVICES_HANDLER, []),
        ],
    )
    def test_allowed_actions_follow_the_side_the_role_and_the_state(
        self, state: State, who: Actor, expected: list[str]
    ) -> None:
        request = STATES_BY_NAME[state]()
        assert [a.value for a in domain.allowed_actions(who, request)] == expected

    def test_an_action_in_the_wrong_state_is_409_listing_the_allowed_actions(self) -> None:
        with pytest.raises(Conflict) as caught:
            domain.accept(DE_HANDLER, answered(), NOW)
        assert caught.value.status == 409
        assert caught.value.extra["allowed_actions"] == []
        assert caught.value.extra["state"] == "answered"

    def test_the_wrong_role_is_403_listing_what_the_caller_may_do(self) -> None:
        with pytest.raises(Forbidden) as caught:
            domain.accept(PT_HANDLER, sent(), NOW)
        assert caught.value.extra["allowed_actions"] == ["propose-date", "withdraw"]

    def test_a_handler_limited_to_another_area_may_not_act(self) -> None:
        with pytest.raises(Forbidden):
            domain.accept(DE_SERVICES_HANDLER, sent(), NOW)

    def test_split_needs_two_questions(self) -> None:
        request = replace(sent(), items=sent().items[:1])
        assert Action.SPLIT not in domain.allowed_actions(DE_HANDLER, request)


class TestDraft:
    def test_a_request_goes_abroad(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            domain.new_draft(
                request_id=uuid.uuid4(),
                actor=PT_HANDLER,
                requesting=PT,
                responding=authority("pt"),
                procedure=PROCEDURE,
                catalogue_version="v1",
                question_keys=["authentic"],
                free_texts=[],
                requested_reply_date=NOW.date() + timedelta(days=3),
                now=NOW,
            )
        assert caught.value.field == "body.responding_authority_id"

    @pytest.mark.parametrize(
        ("responding", "detail"),
        [(None, "no such authority"), (DE_OFF, "not active"), (DE_SERVICES, "not competent")],
    )
    def test_the_responding_authority_must_be_known_active_and_competent(
        self, responding: AuthorityProfile | None, detail: str
    ) -> None:
        with pytest.raises(InvalidInput) as caught:
            domain.new_draft(
                request_id=uuid.uuid4(),
                actor=PT_HANDLER,
                requesting=PT,
                responding=responding,
                procedure=PROCEDURE,
                catalogue_version="v1",
                question_keys=["authentic"],
                free_texts=[],
                requested_reply_date=NOW.date() + timedelta(days=3),
                now=NOW,
            )
        assert caught.value.field == "body.responding_authority_id"
        assert detail in caught.value.detail

    def test_a_question_outside_the_procedure_names_its_position(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            domain.require_question_keys(PROCEDURE, ["authentic", "unknown"], "body.items")
        assert caught.value.field == "body.items[1]"

    def test_a_reply_date_today_or_earlier_is_refused(self) -> None:
        for days in (0, -1):
            with pytest.raises(InvalidInput) as caught:
                domain.require_future_date(NOW.date() + timedelta(days=days), NOW.date(), "f")
            assert caught.value.field == "f"

    def test_free_texts_take_the_writers_language_when_none_is_given(self) -> None:
        texts = domain.new_free_texts([], [TextInput("Olá")], Side.REQUESTER, PT_HANDLER, NOW, "x")
        assert texts[0].language == "pt"
        assert texts[0].id == "t1"


class TestAnswers:
    @pytest.mark.parametrize(
        ("question", "answer", "stored"),
        [
            ("authentic", {"option": "no"}, {"option": "no"}),
            ("body", {"option": "college"}, {"option": "college"}),
            ("awarded", {"date": "2019-07-15"}, {"date": "2019-07-15"}),
            ("notes", {"text": "Diplom echt."}, {"text": "Diplom echt.", "language": "de"}),
            (
                "notes",
                {"text": "Genuine.", "language": "en-GB"},
                {"text": "Genuine.", "language": "en"},
            ),
        ],
    )
    def test_each_answer_type_is_stored_in_the_render_shape(
        self, question: str, answer: dict[str, Any], stored: dict[str, Any]
    ) -> None:
        rule = PROCEDURE.questions[question]
        assert (
            domain.validate_answer(rule, answer, "a", writer_language="de", documents=frozenset())
            == stored
        )

    @pytest.mark.parametrize(
        ("question", "answer", "field"),
        [
            ("authentic", {"option": "maybe"}, "a.option"),
            ("authentic", {"date": "2019-01-01"}, "a"),
            ("awarded", {"date": "15.07.2019"}, "a.date"),
            ("copy", {"document": str(uuid.uuid4())}, "a.document"),
            ("notes", {"text": "  "}, "a"),
            ("notes", {"text": "x", "language": "xx"}, "a.language"),
        ],
    )
    def test_a_wrong_answer_names_the_field(
        self, question: str, answer: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as caught:
            domain.validate_answer(
                PROCEDURE.questions[question],
                answer,
                "a",
                writer_language="de",
                documents=frozenset(),
            )
        assert caught.value.field == field

    def test_an_answer_to_a_question_not_asked_is_refused(self) -> None:
        request = replace(accepted(), items=accepted().items[:2])
        with pytest.raises(InvalidInput) as caught:
            domain.answer(
                DE_HANDLER,
                request,
                PROCEDURE,
                [AnswerInput("awarded", {"date": "2019-07-15"})],
                [],
                frozenset(),
                NOW,
            )
        assert caught.value.field == "body.answers[0].question"

    def test_personal_data_answers_are_kept_out_of_the_rendered_content(self) -> None:
        document = uuid.uuid4()
        outcome = domain.answer(
            DE_HANDLER,
            accepted(),
            PROCEDURE,
            [
                AnswerInput("sanctions", {"option": "no"}),
                AnswerInput("copy", {"document": str(document)}),
            ],
            [],
            frozenset({document}),
            NOW,
        )
        items = {
            i["question"]: i["answer"] for i in domain.render_content(outcome.request)["items"]
        }
        assert items["sanctions"] is None
        assert items["copy"] is None
        assert all(i.answered_at == NOW for i in outcome.request.items if i.question == "copy")


class TestReplyDate:
    def test_the_responder_accepts_the_requesters_date(self) -> None:
        request = sent()
        agreed = domain.propose_date(DE_HANDLER, request, None, True, NOW).request
        assert agreed.reply_date_agreed
        assert agreed.reply_by == request.requested_reply_date
        assert agreed.date_proposal is None

    def test_a_counter_proposal_waits_for_the_requester(self) -> None:
        later = NOW.date() + timedelta(days=40)
        countered = domain.propose_date(DE_HANDLER, sent(), later, False, NOW).request
        assert countered.reply_by == NOW.date() + timedelta(days=20)  # still the requester's
        with pytest.raises(Conflict):
            domain.propose_date(DE_HANDLER, countered, None, True, NOW)
        agreed = domain.propose_date(PT_HANDLER, countered, None, True, NOW).request
        assert agreed.reply_by == later
        assert agreed.reply_date_agreed

    def test_a_proposal_in_the_past_names_the_date(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            domain.propose_date(DE_HANDLER, sent(), NOW.date(), False, NOW)
        assert caught.value.field == "body.date"

    def test_either_a_date_or_an_acceptance(self) -> None:
        with pytest.raises(InvalidInput):
            domain.propose_date(DE_HANDLER, sent(), NOW.date() + timedelta(days=3), True, NOW)
        with pytest.raises(InvalidInput):
            domain.propose_date(DE_HANDLER, sent(), None, False, NOW)


class TestForwardAndSplit:
    def test_forward_stays_in_the_responding_country_and_restarts_acceptance(self) -> None:
        later = NOW + timedelta(days=2)
        forwarded = domain.forward(
            DE_HANDLER, accepted(), DE_BY, PROCEDURE, "Zuständig ist Bayern", later, POLICY
        ).request
        assert forwarded.state is State.SENT
        assert forwarded.responding.id == DE_BY.id
        assert forwarded.received_at == later
        assert {DE.id, DE_BY.id, PT.id} == set(forwarded.involved_ids)
        with pytest.raises(InvalidInput) as caught:
            domain.forward(DE_HANDLER, accepted(), FR, PROCEDURE, None, NOW, POLICY)
        assert caught.value.field == "body.authority_id"

    def test_split_moves_questions_into_a_new_sent_request(self) -> None:
        outcome = domain.split(
            DE_HANDLER, sent(), DE_BY, PROCEDURE, ["awarded", "copy"], uuid.uuid4(), NOW, POLICY
        )
        new = outcome.new_request
        assert new is not None
        assert new.question_keys == ("awarded", "copy")
        assert "awarded" not in outcome.request.question_keys
        assert new.state is State.SENT
        assert set(new.involved_ids) == {PT.id, DE_BY.id, DE.id}
        assert [h.name for h in outcome.happened] == ["split", "sent"]
        assert domain.replay(outcome.new_entries).state is State.SENT

    def test_split_keeps_at_least_one_question(self) -> None:
        request = sent()
        with pytest.raises(InvalidInput) as caught:
            domain.split(
                DE_HANDLER,
                request,
                DE_BY,
                PROCEDURE,
                list(request.question_keys),
                uuid.uuid4(),
                NOW,
                POLICY,
            )
        assert caught.value.field == "body.questions"


class TestAllocation:
    def test_only_a_request_handler_of_the_responding_authority(self) -> None:
        request = accepted()
        outsider = UserProfile(uuid.uuid4(), DE_BY.id, "de", (HANDLER,), True)
        inactive = replace(DE_STAFF, active=False)
        no_role = replace(DE_STAFF, roles=(ALLOCATOR,))
        for candidate in (outsider, inactive, no_role, None):
            with pytest.raises(InvalidInput) as caught:
                domain.allocate(DE_ALLOCATOR, request, candidate, NOW)
            assert caught.value.field == "body.handler_user_id"
        allocated = domain.allocate(DE_ALLOCATOR, request, DE_STAFF, NOW).request
        assert allocated.state is State.ALLOCATED
        assert DE_STAFF.id in allocated.participant_ids


class TestVisibility:
    def test_the_two_authorities_see_others_do_not(self) -> None:
        request = sent()
        assert domain.can_see(PT_HANDLER, request)
        assert domain.can_see(DE_HANDLER, request)
        assert not domain.can_see(FR_HANDLER, request)
        assert not domain.can_see(actor(DE, ActorRole("alert_handler")), request)

    def test_the_responder_does_not_see_a_draft(self) -> None:
        assert not domain.can_see(DE_HANDLER, draft())

    def test_coordinators_see_requests_of_their_country(self) -> None:
        request = sent()
        national = actor(None, ActorRole("national_coordinator"))
        assert domain.can_see(national, request)
        by_region = actor(None, ActorRole("delegated_coordinator", region="DE-BE"))
        other_region = actor(None, ActorRole("delegated_coordinator", region="DE-BY"))
        by_area = actor(None, ActorRole("delegated_coordinator", area=PQ))
        other_area = actor(None, ActorRole("delegated_coordinator", area="services"))
        assert domain.can_see(by_region, request)
        assert not domain.can_see(other_region, request)
        assert domain.can_see(by_area, request)
        assert not domain.can_see(other_area, request)
        french = replace(national, country="fr")
        assert not domain.can_see(french, request)

    @given(
        st.lists(
            st.sampled_from(
                [
                    ActorRole("request_handler"),
                    ActorRole("request_handler", area="services"),
                    ActorRole("read_only", area=PQ),
                    ActorRole("alert_handler"),
                    ActorRole("national_coordinator"),
                    ActorRole("delegated_coordinator", region="DE-BE"),
                    ActorRole("delegated_coordinator", region="DE-BY"),
                    ActorRole("delegated_coordinator", area="services"),
                    ActorRole("data_protection_administrator"),
                ]
            ),
            max_size=3,
        ),
        st.sampled_from([PT, DE, DE_BY, FR, None]),
        st.sampled_from(["pt", "de", "fr"]),
    )
    def test_the_list_scope_agrees_with_can_see(
        self, roles: list[ActorRole], of: AuthorityProfile | None, country: str
    ) -> None:
        who = replace(actor(of, *roles), country=of.country if of else country)
        request = sent()
        scope = domain.visibility_scope(who)
        own = scope.authority_id in request.involved_ids and (
            scope.authority_areas is None or request.area in scope.authority_areas
        )
        in_country = scope.country in request.involved_countries
        delegated = in_country and any(
            (a is None or a == request.area) and (r is None or r in request.involved_regions)
            for a, r in scope.delegated
        )
        assert domain.can_see(who, request) == (
            own or (in_country and scope.whole_country) or delegated
        )


class TestPersonalData:
    def test_involved_users_read_it_coordinators_do_not(self) -> None:
        request = sent()
        assert domain.authorize_personal_data(DE_HANDLER, request, None) is False
        with pytest.raises(Forbidden):
            domain.authorize_personal_data(
                actor(None, ActorRole("national_coordinator")), request, None
            )

    def test_blocked_data_only_for_an_administrator_with_a_justification(self) -> None:
        blocked = replace(sent(), personal_data_blocked_at=NOW)
        with pytest.raises(Forbidden):
            domain.authorize_personal_data(PT_HANDLER, blocked, "needed")
        dpa = actor(None, ActorRole("data_protection_administrator"))
        with pytest.raises(InvalidInput) as caught:
            domain.authorize_personal_data(dpa, blocked, "  ")
        assert caught.value.field == "query.justification"
        assert domain.authorize_personal_data(dpa, blocked, "court order 12/2026") is True

    def test_deleted_data_is_gone_for_everyone(self) -> None:
        deleted = replace(sent(), personal_data_blocked_at=NOW, personal_data_deleted_at=NOW)
        dpa = actor(None, ActorRole("data_protection_administrator"))
        with pytest.raises(domain.PersonalDataDeleted):
            domain.authorize_personal_data(dpa, deleted, "court order")


# --- deadlines and retention ---------------------------------------------------------------------


class TestDeadlines:
    def test_acceptance_reminder_after_five_days_overdue_after_seven(self) -> None:
        request = sent()
        assert domain.next_deadline_at(request, POLICY) == NOW + timedelta(days=5)
        reminded = domain.apply_deadlines(request, NOW + timedelta(days=5), POLICY)
        assert [(h.name, h.fields["deadline"]) for h in reminded.happened] == [
            ("reminded", "acceptance")
        ]
        overdue = domain.apply_deadlines(reminded.request, NOW + timedelta(days=7), POLICY)
        assert [h.name for h in overdue.happened] == ["overdue"]
        assert domain.is_overdue(overdue.request)
        assert not domain.is_overdue(domain.accept(DE_HANDLER, overdue.request, NOW).request)

    def test_a_reminder_whose_deadline_passed_is_not_sent(self) -> None:
        late = domain.apply_deadlines(sent(), NOW + timedelta(days=8), POLICY)
        assert [h.name for h in late.happened] == ["overdue"]
        assert late.request.acceptance_reminded_at is not None

    def test_reply_reminder_overdue_and_escalation_to_the_coordinators(self) -> None:
        request = accepted()
        assert request.reply_by is not None
        coordinator = UserProfile(
            uuid.uuid4(), uuid.uuid4(), "de", (ActorRole("national_coordinator"),), True
        )
        day_after = datetime.combine(request.reply_by + timedelta(days=1), datetime.min.time(), UTC)
        reminder = domain.apply_deadlines(request, day_after - timedelta(days=3), POLICY)
        assert [(h.name, h.fields.get("deadline")) for h in reminder.happened] == [
            ("reminded", "reply")
        ]
        late = domain.apply_deadlines(reminder.request, day_after, POLICY, [coordinator])
        assert [h.name for h in late.happened] == ["overdue", "escalated"]
        assert late.happened[1].fields["coordinator_user_ids"] == (coordinator.id,)
        assert coordinator.id in late.request.participant_ids
        assert domain.next_deadline_at(late.request, POLICY) == domain.add_months(
            request.last_activity_at, 2
        )

    def test_an_idle_request_is_escalated_after_two_months(self) -> None:
        request = replace(accepted(), reply_by=NOW.date() + timedelta(days=400))
        idle = domain.apply_deadlines(request, NOW + timedelta(days=62), POLICY)
        assert [(h.name, h.fields["reason"]) for h in idle.happened] == [("escalated", "idle")]
        assert domain.apply_deadlines(idle.request, NOW + timedelta(days=70), POLICY).happened == ()

    def test_an_answer_stops_the_reply_clock(self) -> None:
        assert domain.reply_due_at(answered()) is None
        assert domain.acceptance_due_at(answered(), POLICY) is None

    @pytest.mark.parametrize(
        ("start", "months", "expected"),
        [
            (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
            (datetime(2026, 11, 30, tzinfo=UTC), 3, datetime(2027, 2, 28, tzinfo=UTC)),
            (datetime(2026, 3, 2, tzinfo=UTC), 36, datetime(2029, 3, 2, tzinfo=UTC)),
        ],
    )
    def test_months_are_calendar_months(
        self, start: datetime, months: int, expected: datetime
    ) -> None:
        assert domain.add_months(start, months) == expected


class TestRetention:
    def closed(self, retention_months: int = 6) -> InformationRequest:
        request = domain.accept_answer(PT_HANDLER, answered(), Rating(4, 5), NOW).request
        closed = domain.close(PT_HANDLER, request, NOW).request
        return replace(closed, retention_months=retention_months)

    @pytest.mark.parametrize("months", [6, 18])
    def test_blocked_after_the_procedures_months_deleted_after_three_years(
        self, months: int
    ) -> None:
        request = self.closed(months)
        assert domain.next_retention_at(request, RETENTION) == domain.add_months(NOW, months)
        early, steps, _ = domain.apply_retention(
            request, domain.add_months(NOW, months) - timedelta(seconds=1), RETENTION
        )
        assert steps == []
        blocked, steps, entries = domain.apply_retention(
            request, domain.add_months(NOW, months), RETENTION
        )
        assert steps == [domain.RetentionStep.BLOCK]
        assert entries[0].action == "personal_data_blocked"
        deleted, steps, _ = domain.apply_retention(blocked, domain.add_months(NOW, 36), RETENTION)
        assert steps == [domain.RetentionStep.DELETE]
        assert deleted.free_texts == ()
        assert domain.next_retention_at(deleted, RETENTION) is None

    def test_an_open_request_is_never_due(self) -> None:
        assert domain.next_retention_at(accepted(), RETENTION) is None


# --- random sequences of actions -----------------------------------------------------------------


ACTORS: dict[str, Actor] = {
    "pt": PT_HANDLER,
    "de": DE_HANDLER,
    "de_allocator": DE_ALLOCATOR,
    "de_by": DE_BY_HANDLER,
    "fr": FR_HANDLER,
    "de_services": DE_SERVICES_HANDLER,
}
TARGETS = [DE_BY, DE, PT, FR, DE_OFF]
STAFF = [DE_STAFF, UserProfile(uuid.uuid4(), DE_BY.id, "de", (HANDLER,), True)]
BY_ID = {a.id: a for a in (PT, DE, DE_BY, FR, DE_OFF, DE_SERVICES)}


def perform(name: str, request: InformationRequest, who: Actor, now: datetime, n: int) -> Outcome:
    """One action with parameters picked by ``n`` (some valid, some not)."""
    keys = list(request.question_keys)
    if name == "send":
        return domain.send(who, request, now, POLICY)
    if name == "accept":
        return domain.accept(who, request, now)
    if name == "reject":
        return domain.reject(who, request, ["Não é connosco", " "][n % 2], now)
    if name == "forward":
        return domain.forward(who, request, TARGETS[n % len(TARGETS)], PROCEDURE, None, now, POLICY)
    if name == "split":
        moved = keys[: 1 + n % max(1, len(keys))]
        return domain.split(
            who, request, TARGETS[n % len(TARGETS)], PROCEDURE, moved, uuid.uuid4(), now, POLICY
        )
    if name == "allocate":
        return domain.allocate(who, request, STAFF[n % 2], now)
    if name == "propose-date":
        if n % 3 == 0:
            return domain.propose_date(who, request, None, True, now)
        return domain.propose_date(who, request, now.date() + timedelta(days=n % 30), False, now)
    if name == "answer":
        key = keys[n % len(keys)]
        answer: dict[str, Any] = {
            AnswerType.YES_NO: {"option": "yes"},
            AnswerType.CHOICE: {"option": "college"},
            AnswerType.DATE: {"date": "2020-01-01"},
            AnswerType.FREE_TEXT: {"text": "Ja."},
            AnswerType.DOCUMENT: {"document": str(uuid.uuid4())},
        }[PROCEDURE.questions[key].type]
        return domain.answer(
            who, request, PROCEDURE, [AnswerInput(key, answer)], [], frozenset(), now
        )
    if name == "request-info":
        extra = [k for k in PROCEDURE.questions if k not in keys][: n % 2]
        return domain.request_information(
            who, request, PROCEDURE, TextInput("Mais informação, por favor."), extra, None, now
        )
    if name == "accept-answer":
        return domain.accept_answer(who, request, Rating(1 + n % 5, 1 + n % 4), now)
    if name == "close":
        return domain.close(who, request, now)
    if name == "withdraw":
        return domain.withdraw(who, request, "Já não é necessário", now)
    if name == "edit":
        return domain.edit_draft(
            who,
            request,
            domain.DraftChanges(question_keys=["authentic", "notes"][: 1 + n % 2]),
            PROCEDURE,
            DE,
            now,
        )
    if name == "deadlines":
        return domain.apply_deadlines(request, now, POLICY)
    updated, _, entries = domain.apply_retention(request, now, RETENTION)
    return Outcome(updated, tuple(entries))


STEP_NAMES = [a.value for a in Action] + ["edit", "deadlines", "retention"]
VISITED: Counter[State] = Counter()


# The workflow as the issue states it, written out independently of domain.RULES:
# (action, from state) -> (to state, side that acts).
S = State
WORKFLOW: dict[tuple[str, State], tuple[State, Side]] = {
    ("send", S.DRAFT): (S.SENT, Side.REQUESTER),
    ("accept", S.SENT): (S.ACCEPTED, Side.RESPONDER),
    ("reject", S.SENT): (S.REJECTED, Side.RESPONDER),
    ("forward", S.SENT): (S.SENT, Side.RESPONDER),
    ("forward", S.ACCEPTED): (S.SENT, Side.RESPONDER),
    ("forward", S.ALLOCATED): (S.SENT, Side.RESPONDER),
    ("split", S.SENT): (S.SENT, Side.RESPONDER),
    ("split", S.ACCEPTED): (S.ACCEPTED, Side.RESPONDER),
    ("split", S.ALLOCATED): (S.ALLOCATED, Side.RESPONDER),
    ("allocate", S.ACCEPTED): (S.ALLOCATED, Side.RESPONDER),
    ("allocate", S.ALLOCATED): (S.ALLOCATED, Side.RESPONDER),
    ("allocate", S.INFORMATION_REQUESTED): (S.INFORMATION_REQUESTED, Side.RESPONDER),
    **{
        ("propose-date", state): (state, side)
        for state in (S.SENT, S.ACCEPTED, S.ALLOCATED, S.INFORMATION_REQUESTED)
        for side in (Side.REQUESTER,)
    },
    ("answer", S.ACCEPTED): (S.ANSWERED, Side.RESPONDER),
    ("answer", S.ALLOCATED): (S.ANSWERED, Side.RESPONDER),
    ("answer", S.INFORMATION_REQUESTED): (S.ANSWERED, Side.RESPONDER),
    ("request-info", S.ANSWERED): (S.INFORMATION_REQUESTED, Side.REQUESTER),
    ("accept-answer", S.ANSWERED): (S.ANSWER_ACCEPTED, Side.REQUESTER),
    ("close", S.ANSWER_ACCEPTED): (S.CLOSED, Side.REQUESTER),
    ("withdraw", S.DRAFT): (S.WITHDRAWN, Side.REQUESTER),
    ("withdraw", S.SENT): (S.WITHDRAWN, Side.REQUESTER),
    ("withdraw", S.ACCEPTED): (S.WITHDRAWN, Side.REQUESTER),
    ("withdraw", S.ALLOCATED): (S.WITHDRAWN, Side.REQUESTER),
}
ROLE_OF = {"allocate": "request_allocator"}


def check_transition(
    name: str, before: InformationRequest, after: InformationRequest, who: Actor
) -> None:
    """A transition that happened is one the issue's workflow has, by the side it names."""
    assert (name, before.state) in WORKFLOW, f"{name} happened in {before.state}"
    target, side = WORKFLOW[(name, before.state)]
    assert after.state is target
    acting_side = before.side_of(who)
    if name == "propose-date":
        assert acting_side in (Side.REQUESTER, Side.RESPONDER)
    else:
        assert acting_side is side, f"{name} by the {acting_side}"
    assert who.holds(ROLE_OF.get(name, "request_handler"), before.area)


def check_invariants(request: InformationRequest) -> None:
    assert request.state in State
    assert (request.state in domain.TERMINAL_STATES) == (request.formal_closure_at is not None)
    assert request.responding.id != request.requesting.id
    assert request.requesting.id in request.involved_ids
    assert request.items, "a request always keeps a question"
    assert len(set(request.question_keys)) == len(request.items)
    if request.state is not State.DRAFT and request.sent_at is not None:
        assert request.responding.id in request.involved_ids
        assert request.responding.country == "de"
    if request.state is State.SENT:
        assert request.received_at is not None
        assert request.accepted_at is None
    if request.state in (State.ANSWERED, State.INFORMATION_REQUESTED, State.ANSWER_ACCEPTED):
        assert request.first_answered_at is not None
    assert (request.rating is not None) == (
        request.state is State.ANSWER_ACCEPTED
        or (request.state is State.CLOSED and request.answer_accepted_at is not None)
    )
    if request.state is State.ALLOCATED:
        assert request.handler_user_id is not None
    if request.personal_data_deleted_at is not None:
        assert request.personal_data_blocked_at is not None
    if domain.is_overdue(request):
        assert request.state in domain.AWAITING_ANSWER
    if request.state in (State.ANSWER_ACCEPTED, State.CLOSED):
        # closure comes after an accepted answer, never straight after an answer
        assert request.rating is not None
        assert request.first_answered_at is not None
    if request.state in (State.ANSWERED, State.INFORMATION_REQUESTED, State.ALLOCATED):
        assert request.accepted_at is not None
    if request.state is State.REJECTED:
        assert request.accepted_at is None
        assert request.first_answered_at is None
    if request.state is State.WITHDRAWN:
        assert request.first_answered_at is None
    if request.handler_user_id is not None:
        assert request.handler_user_id in {
            s.id for s in STAFF if s.authority_id == request.responding.id
        }


def step_strategy() -> st.SearchStrategy[tuple[bool, str, str, int, int, int]]:
    """Mostly an action someone may take now (so that sequences go deep), sometimes any action
    by anyone (so that refusals are exercised too)."""
    return st.tuples(
        st.sampled_from([True, True, True, True, False]),
        st.sampled_from(STEP_NAMES),
        st.sampled_from(sorted(ACTORS)),
        st.integers(min_value=0, max_value=10_000),
        st.integers(min_value=0, max_value=10_000),
        # hours between steps: mostly a day or two, sometimes weeks (deadlines, retention)
        st.integers(min_value=0, max_value=36) | st.integers(min_value=0, max_value=60 * 24),
    )


class TestRandomSequences:
    @settings(
        max_examples=400,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.lists(step_strategy(), min_size=8, max_size=40))
    def test_the_rules_hold_and_the_history_replays_to_the_current_state(
        self, steps: list[tuple[bool, str, str, int, int, int]]
    ) -> None:
        outcome = domain.new_draft(
            request_id=uuid.uuid4(),
            actor=PT_HANDLER,
            requesting=PT,
            responding=DE,
            procedure=PROCEDURE,
            catalogue_version="v1",
            question_keys=["authentic", "body", "awarded", "notes", "copy"],
            free_texts=[],
            requested_reply_date=NOW.date() + timedelta(days=20),
            now=NOW,
        )
        request, history = outcome.request, list(outcome.entries)
        now = NOW
        refusals: list[tuple[str, set[str], Conflict | Forbidden]] = []
        for guided, name, who_key, pick, n, hours in steps:
            now += timedelta(hours=hours)
            if guided:
                choices = [
                    (key, action.value)
                    for key in sorted(ACTORS)
                    for action in domain.allowed_actions(ACTORS[key], request)
                ]
                # two times in three keep the request open, so that sequences go deep
                going_on = [c for c in choices if c[1] not in ("reject", "withdraw", "close")]
                if going_on and pick % 3:
                    choices = going_on
                if choices:
                    who_key, name = choices[pick % len(choices)]
            who = ACTORS[who_key]
            allowed = {a.value for a in domain.allowed_actions(who, request)}
            try:
                done = perform(name, request, who, now, n)
            except (Conflict, Forbidden) as refused:
                refusals.append((name, allowed, refused))
                continue
            except InvalidInput:
                continue
            VISITED[done.request.state] += 1
            if name in {a.value for a in Action}:
                assert name in allowed, f"{name} done by {who_key} though not allowed"
                check_transition(name, request, done.request, who)
                assert done.request.version == request.version + 1
                assert done.entries[-1].from_state is request.state
            elif name == "edit":
                assert request.state is State.DRAFT
            else:
                assert done.request.state is request.state
                assert done.request.version == request.version
            request, history = done.request, [*history, *done.entries]
            check_invariants(request)
            replayed = domain.replay(history)
            assert replayed.state is request.state
            assert replayed.version == request.version
            assert replayed.question_keys == request.question_keys
            if request.state is not State.DRAFT:
                assert replayed.responding_authority_id == request.responding.id
                assert replayed.reply_by == request.reply_by
            assert replayed.handler_user_id == request.handler_user_id
            if done.new_request is not None:
                check_invariants(done.new_request)
                assert domain.replay(done.new_entries).state is State.SENT
        for name, allowed, refused in refusals:
            assert name not in allowed or name == "propose-date", (
                f"{name} was allowed but refused: {refused.detail}"
            )
            if "allowed_actions" in refused.extra:
                assert set(refused.extra["allowed_actions"]) == allowed

    def test_the_random_sequences_reach_every_state(self) -> None:
        """Guards the property above against shallow sequences (runs after it)."""
        if not VISITED:
            pytest.skip("runs after the property test in the same session")
        assert set(VISITED) == set(State), f"never reached: {set(State) - set(VISITED)}"

    def test_a_history_with_a_forbidden_transition_does_not_replay(self) -> None:
        outcome = domain.send(PT_HANDLER, draft(), NOW, POLICY)
        created = domain.HistoryEntry(1, "created", NOW, State.DRAFT, State.DRAFT)
        forged = replace(outcome.entries[0], action="close", to_state=State.CLOSED)
        with pytest.raises(domain.HistoryMismatch):
            domain.replay([created, forged])


# --- what a file is ------------------------------------------------------------------------------


def sniff(data: bytes, listing: ZipListing | None = None) -> str | None:
    sniffer = ContentSniffer()
    for start in range(0, len(data), 7):  # fed in small chunks, as an upload arrives
        sniffer.feed(data[start : start + 7])
    return sniffer.content_type(listing)


def zipped(names: dict[str, bytes]) -> tuple[bytes, ZipListing]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        mimetype = archive.read("mimetype").decode() if "mimetype" in names else None
        return buffer.getvalue(), ZipListing(tuple(archive.namelist()), mimetype)


class TestFileTypes:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (b"%PDF-1.7\n%\xe2\xe3\n1 0 obj", PDF),
            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PNG),
            (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
            (b"II*\x00\x08\x00\x00\x00", TIFF),
            ("Declaração: o diploma é autêntico.\n".encode(), TEXT),
            (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", None),
            (b"\x7fELF\x02\x01\x01", None),
            (b"plain\x00with a NUL", None),
            (b"\xc3\x28 broken utf-8", None),
        ],
    )
    def test_the_bytes_decide(self, data: bytes, expected: str | None) -> None:
        assert sniff(data) == expected

    def test_office_documents_are_told_apart_by_their_members(self) -> None:
        docx, listing = zipped({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w/>"})
        assert sniff(docx, listing) == DOCX
        odt, listing = zipped({"mimetype": ODT.encode(), "content.xml": b"<o/>"})
        assert sniff(odt, listing) == ODT
        macro, listing = zipped(
            {
                "[Content_Types].xml": b"<x/>",
                "word/document.xml": b"<w/>",
                "word/vbaProject.bin": b"0",
            }
        )
        assert sniff(macro, listing) is None
        plain, listing = zipped({"notes.txt": b"hello"})
        assert sniff(plain, listing) is None

    def test_an_executable_named_pdf_is_refused_as_unsupported(self) -> None:
        with pytest.raises(UnsupportedContent) as caught:
            check_declared(
                sniff(b"MZ\x90\x00"),
                "diploma.pdf",
                "application/pdf",
                filename_field="f",
                type_field="t",
            )
        assert caught.value.status == 415

    def test_a_png_named_pdf_contradicts_its_name(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            check_declared(
                PNG, "diploma.pdf", None, filename_field="query.filename", type_field="t"
            )
        assert caught.value.field == "query.filename"

    def test_a_declared_type_that_contradicts_the_bytes_names_the_header(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            check_declared(
                PDF, "diploma", "image/png", filename_field="f", type_field="headers.content-type"
            )
        assert caught.value.field == "headers.content-type"
        assert (
            check_declared(JPEG, "scan.JPG", "image/jpg", filename_field="f", type_field="t")
            == JPEG
        )
        assert (
            check_declared(TEXT, "list.csv", "text/csv", filename_field="f", type_field="t") == TEXT
        )


class TestReaderLanguage:
    @pytest.mark.parametrize(
        ("header", "identity", "expected"),
        [
            (None, "de", "de"),
            ("pt-PT,en;q=0.5", "de", "pt"),
            ("xx", "fi", "fi"),
            (None, "xx", "en"),
        ],
    )
    def test_accept_language_then_identity_then_english(
        self, header: str | None, identity: str, expected: str
    ) -> None:
        assert reader_language(header, identity) == expected


def test_the_procedure_kind_guards_alert_procedures() -> None:
    alert = replace(PROCEDURE, kind=ProcedureKind.ALERT)
    rules = domain.CatalogueRules("v1", {"pq_alert": alert})
    with pytest.raises(InvalidInput) as caught:
        rules.request_procedure("pq_alert", "body.procedure")
    assert caught.value.field == "body.procedure"
    with pytest.raises(DomainError):
        rules.request_procedure("nope", "body.procedure")


def test_dates_are_plain_dates() -> None:
    assert isinstance(sent().reply_by, date)
