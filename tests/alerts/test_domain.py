"""Pure rules of alerts: flows, who acts, who sees, deadlines, retention, content, targets."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.alerts.domain import (
    EEA_COUNTRIES,
    FLOWS,
    PQ_DECISION_QUESTION,
    Action,
    Actor,
    AlertFacts,
    AlertKind,
    AlertState,
    CatalogueView,
    Involvement,
    PersonalDataGone,
    PreconditionRequired,
    ProcedureInfo,
    QuestionInfo,
    Retention,
    add_months,
    alert_procedure,
    allowed_actions,
    broadcast_target,
    can_see,
    check_personal_data_read,
    decode_cursor,
    dissemination_target,
    due_for_blocking,
    due_for_deletion,
    encode_cursor,
    is_overdue,
    matches_if_match,
    next_state,
    pq_send_by,
    refusal,
    require_action,
    require_decision_date,
    require_profession,
    sent_late,
    split_personal,
    states_of,
    tracking_scope,
    validate_free_texts,
    validate_items,
    validate_professional,
    without_personal,
)
from shared.contracts.translation import AnswerType, ProcedureKind
from shared.languages import reader_language
from shared.problems import Conflict, Forbidden, InvalidInput

SENDER_AUTHORITY = uuid.uuid4()
RECEIVING_AUTHORITY = uuid.uuid4()
OTHER_AUTHORITY = uuid.uuid4()


def actor(authority: uuid.UUID | None, country: str | None, *roles: str) -> Actor:
    return Actor(uuid.uuid4(), authority, country, tuple((r, None) for r in roles))


HANDLER = actor(SENDER_AUTHORITY, "de", "alert_handler")
SENDER_COORDINATOR = actor(uuid.uuid4(), "de", "alert_coordinator", "national_coordinator")
RECEIVING_COORDINATOR = actor(RECEIVING_AUTHORITY, "fr", "alert_coordinator")
RECIPIENT_HANDLER = actor(RECEIVING_AUTHORITY, "fr", "alert_handler")
OUTSIDER = actor(OTHER_AUTHORITY, "it", "alert_handler", "alert_coordinator")
NOTIFIER = actor(SENDER_AUTHORITY, "de", "national_coordinator")

RECEIVED = Involvement(recipient=True, country_received=True)
COUNTRY_RECEIVED = Involvement(country_received=True)


def facts(kind: AlertKind, state: AlertState, area: str = "services") -> AlertFacts:
    return AlertFacts(kind, state, area, SENDER_AUTHORITY, "de")


def procedure(**questions: tuple[AnswerType, bool, tuple[str, ...]]) -> ProcedureInfo:
    return ProcedureInfo(
        key="pq_alert",
        area="professional_qualifications",
        kind=ProcedureKind.ALERT,
        retention_months=18,
        questions={k: QuestionInfo(k, t, p, o) for k, (t, p, o) in questions.items()},
    )


PQ = procedure(
    pq_alert_ground=(AnswerType.CHOICE, False, ("restriction_or_prohibition", "falsified")),
    pq_alert_decision_date=(AnswerType.DATE, True, ()),
    pq_alert_scope=(AnswerType.FREE_TEXT, True, ()),
    pq_alert_decided_by_court=(AnswerType.YES_NO, False, ()),
    pq_alert_decision_document=(AnswerType.DOCUMENT, True, ()),
)
CATALOGUE = CatalogueView(
    version="v1",
    procedures={
        "pq_alert": PQ,
        "svc_provider_information": ProcedureInfo(
            "svc_provider_information", "services", ProcedureKind.REQUEST, 6, {}
        ),
    },
    keyword_areas={"teacher": "professional_qualifications", "catering": "services"},
    keywords={"teacher": {"de": ("Lehrer", "Lehrerin"), "en": ("teacher",)}},
    procedure_names={"pq_alert": {"de": "Vorwarnung", "en": "Alert"}},
)


class TestKindOfProcedure:
    def test_alert_procedures_take_their_flow_from_the_area(self) -> None:
        assert PQ.alert_kind is AlertKind.PQ_ALERT
        services = ProcedureInfo("x", "services", ProcedureKind.ALERT, 6, {})
        assert services.alert_kind is AlertKind.SERVICES_ALERT
        workers = ProcedureInfo("y", "posting_of_workers", ProcedureKind.ALERT, 6, {})
        assert workers.alert_kind is AlertKind.SERVICES_ALERT
        notice = ProcedureInfo("z", "services", ProcedureKind.NOTIFICATION, 6, {})
        assert notice.alert_kind is AlertKind.NOTIFICATION

    def test_a_request_procedure_is_refused_naming_the_field(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            alert_procedure(CATALOGUE, "svc_provider_information", "body.procedure")
        assert refused.value.field == "body.procedure"
        with pytest.raises(InvalidInput):
            alert_procedure(CATALOGUE, "nope", "body.procedure")


class TestServicesDirectiveFlow:
    def test_the_sender_submits_and_the_sender_countrys_coordinator_approves(self) -> None:
        draft = facts(AlertKind.SERVICES_ALERT, AlertState.DRAFT)
        assert allowed_actions(draft, HANDLER, Involvement()) == [Action.EDIT, Action.SUBMIT]
        submitted = facts(AlertKind.SERVICES_ALERT, AlertState.SUBMITTED)
        assert allowed_actions(submitted, SENDER_COORDINATOR, Involvement()) == [
            Action.APPROVE,
            Action.REJECT,
        ]
        assert next_state(submitted, Action.APPROVE) is AlertState.APPROVED
        assert next_state(submitted, Action.REJECT) is AlertState.REJECTED

    def test_a_handler_may_not_broadcast_and_gets_403(self) -> None:
        approved = facts(AlertKind.SERVICES_ALERT, AlertState.APPROVED)
        with pytest.raises(Forbidden):
            require_action(Action.BROADCAST, approved, HANDLER, Involvement())
        assert require_action(Action.BROADCAST, approved, SENDER_COORDINATOR, Involvement())

    def test_another_countrys_coordinator_may_not_approve(self) -> None:
        submitted = facts(AlertKind.SERVICES_ALERT, AlertState.SUBMITTED)
        assert isinstance(
            refusal(Action.APPROVE, submitted, RECEIVING_COORDINATOR, Involvement()), Forbidden
        )

    def test_wrong_state_is_409_listing_the_allowed_actions(self) -> None:
        sent = facts(AlertKind.SERVICES_ALERT, AlertState.BROADCAST)
        with pytest.raises(Conflict) as refused:
            require_action(Action.SUBMIT, sent, HANDLER, Involvement())
        assert refused.value.extra["allowed_actions"] == ["update", "rectify", "withdraw", "close"]

    def test_a_rejected_alert_can_be_edited_and_resubmitted(self) -> None:
        rejected = facts(AlertKind.SERVICES_ALERT, AlertState.REJECTED)
        assert allowed_actions(rejected, HANDLER, Involvement()) == [Action.EDIT, Action.SUBMIT]

    def test_only_a_receiving_countrys_coordinator_disseminates(self) -> None:
        sent = facts(AlertKind.SERVICES_ALERT, AlertState.BROADCAST)
        assert Action.DISSEMINATE in allowed_actions(sent, RECEIVING_COORDINATOR, RECEIVED)
        assert Action.DISSEMINATE not in allowed_actions(sent, RECIPIENT_HANDLER, RECEIVED)
        assert isinstance(refusal(Action.DISSEMINATE, sent, OUTSIDER, Involvement()), Forbidden)

    def test_acknowledging_an_alert_not_received_is_403_and_twice_is_409(self) -> None:
        sent = facts(AlertKind.SERVICES_ALERT, AlertState.BROADCAST)
        assert isinstance(refusal(Action.ACKNOWLEDGE, sent, HANDLER, Involvement()), Forbidden)
        acknowledged = Involvement(recipient=True, acknowledged=True, country_received=True)
        assert isinstance(
            refusal(Action.ACKNOWLEDGE, sent, RECIPIENT_HANDLER, acknowledged), Conflict
        )
        assert refusal(Action.ACKNOWLEDGE, sent, RECIPIENT_HANDLER, RECEIVED) is None

    def test_a_user_of_the_recipient_without_an_alert_role_cannot_acknowledge(self) -> None:
        sent = facts(AlertKind.SERVICES_ALERT, AlertState.BROADCAST)
        reader = actor(RECEIVING_AUTHORITY, "fr", "read_only")
        assert isinstance(refusal(Action.ACKNOWLEDGE, sent, reader, RECEIVED), Forbidden)

    def test_a_handler_limited_to_another_area_drafts_nothing_here(self) -> None:
        limited = Actor(uuid.uuid4(), SENDER_AUTHORITY, "de", (("alert_handler", "posting"),))
        draft = facts(AlertKind.SERVICES_ALERT, AlertState.DRAFT)
        assert allowed_actions(draft, limited, Involvement()) == []


class TestProfessionalQualificationsFlow:
    def test_the_handler_sends_directly_without_a_coordinator(self) -> None:
        draft = facts(AlertKind.PQ_ALERT, AlertState.DRAFT, "professional_qualifications")
        assert allowed_actions(draft, HANDLER, Involvement()) == [Action.EDIT, Action.BROADCAST]
        assert allowed_actions(draft, SENDER_COORDINATOR, Involvement()) == []
        assert isinstance(refusal(Action.SUBMIT, draft, HANDLER, Involvement()), Conflict)


class TestNotificationFlow:
    def test_coordinators_create_broadcast_comment_modify_close(self) -> None:
        draft = facts(AlertKind.NOTIFICATION, AlertState.DRAFT)
        assert allowed_actions(draft, NOTIFIER, Involvement()) == [Action.EDIT, Action.BROADCAST]
        assert allowed_actions(draft, HANDLER, Involvement()) == []
        sent = facts(AlertKind.NOTIFICATION, AlertState.BROADCAST)
        assert allowed_actions(sent, NOTIFIER, Involvement()) == [
            Action.UPDATE,
            Action.RECTIFY,
            Action.CLOSE,
        ]
        receiver = actor(RECEIVING_AUTHORITY, "fr", "national_coordinator")
        assert allowed_actions(sent, receiver, RECEIVED) == [Action.COMMENT]

    def test_a_notification_is_neither_acknowledged_nor_disseminated(self) -> None:
        sent = facts(AlertKind.NOTIFICATION, AlertState.BROADCAST)
        for action in (Action.ACKNOWLEDGE, Action.DISSEMINATE, Action.WITHDRAW):
            assert isinstance(refusal(action, sent, RECEIVING_COORDINATOR, RECEIVED), Conflict)


KINDS = st.sampled_from(list(AlertKind))
ACTORS = st.sampled_from(
    [HANDLER, SENDER_COORDINATOR, RECEIVING_COORDINATOR, RECIPIENT_HANDLER, OUTSIDER, NOTIFIER]
)
INVOLVEMENTS = st.sampled_from(
    [Involvement(), RECEIVED, COUNTRY_RECEIVED, Involvement(True, True, True)]
)


class TestFlowsUnderRandomActions:
    @settings(max_examples=300, deadline=None)
    @given(
        kind=KINDS,
        steps=st.lists(st.tuples(st.sampled_from(list(Action)), ACTORS, INVOLVEMENTS), max_size=30),
    )
    def test_no_sequence_reaches_a_state_its_kind_does_not_have_and_history_replays(
        self,
        kind: AlertKind,
        steps: list[tuple[Action, Actor, Involvement]],
    ) -> None:
        state = AlertState.DRAFT
        history: list[Action] = []
        for action, who, involvement in steps:
            current = AlertFacts(kind, state, "services", SENDER_AUTHORITY, "de")
            if refusal(action, current, who, involvement) is not None:
                continue
            state = next_state(current, action)
            history.append(action)
            assert state in states_of(kind)
            if state in (AlertState.CLOSED, AlertState.WITHDRAWN):
                assert history.count(Action.BROADCAST) <= 1
        replayed = AlertState.DRAFT
        for action in history:
            replayed = next_state(
                AlertFacts(kind, replayed, "services", SENDER_AUTHORITY, "de"), action
            )
        assert replayed is state

    @settings(max_examples=200, deadline=None)
    @given(kind=KINDS, state=st.sampled_from(list(AlertState)), who=ACTORS, involved=INVOLVEMENTS)
    def test_an_ended_alert_allows_nothing_and_every_allowed_action_is_in_the_flow(
        self, kind: AlertKind, state: AlertState, who: Actor, involved: Involvement
    ) -> None:
        allowed = allowed_actions(
            AlertFacts(kind, state, "services", SENDER_AUTHORITY, "de"), who, involved
        )
        assert set(allowed) <= set(FLOWS[kind])
        if state in (AlertState.CLOSED, AlertState.WITHDRAWN):
            assert allowed == []
        for action in allowed:
            assert state in FLOWS[kind][action].from_states

    def test_a_services_alert_can_be_broadcast_only_after_approval(self) -> None:
        for state in AlertState:
            alert = facts(AlertKind.SERVICES_ALERT, state)
            ok = refusal(Action.BROADCAST, alert, SENDER_COORDINATOR, Involvement()) is None
            assert ok is (state is AlertState.APPROVED)


class TestWhoSees:
    def test_a_draft_is_seen_only_by_the_sending_authority(self) -> None:
        draft = facts(AlertKind.SERVICES_ALERT, AlertState.DRAFT)
        colleague = actor(SENDER_AUTHORITY, "de", "read_only")
        assert can_see(draft, colleague, Involvement())
        assert not can_see(draft, SENDER_COORDINATOR, Involvement())

    def test_the_sender_countrys_coordinator_sees_it_once_submitted(self) -> None:
        submitted = facts(AlertKind.SERVICES_ALERT, AlertState.SUBMITTED)
        assert can_see(submitted, SENDER_COORDINATOR, Involvement())
        assert not can_see(submitted, OUTSIDER, Involvement())

    def test_recipients_and_a_receiving_countrys_coordinator_see_it(self) -> None:
        sent = facts(AlertKind.SERVICES_ALERT, AlertState.BROADCAST)
        assert can_see(sent, RECIPIENT_HANDLER, RECEIVED)
        coordinator_elsewhere = actor(uuid.uuid4(), "fr", "alert_coordinator")
        assert can_see(sent, coordinator_elsewhere, COUNTRY_RECEIVED)
        assert not can_see(sent, actor(uuid.uuid4(), "fr", "alert_handler"), COUNTRY_RECEIVED)

    def test_a_data_protection_administrator_sees_alerts_of_their_country(self) -> None:
        sent = facts(AlertKind.PQ_ALERT, AlertState.CLOSED)
        dpa = actor(uuid.uuid4(), "de", "data_protection_administrator")
        assert can_see(sent, dpa, Involvement())
        foreign = actor(uuid.uuid4(), "it", "data_protection_administrator")
        assert not can_see(sent, foreign, Involvement())

    def test_tracking_is_for_the_sender_and_the_coordinators_by_scope(self) -> None:
        sent = facts(AlertKind.SERVICES_ALERT, AlertState.BROADCAST)
        scope = tracking_scope(sent, HANDLER, Involvement())
        assert scope is not None
        assert scope.country is None
        receiving = tracking_scope(sent, RECEIVING_COORDINATOR, RECEIVED)
        assert receiving is not None
        assert receiving.country == "fr"
        assert tracking_scope(sent, RECIPIENT_HANDLER, RECEIVED) is None


class TestDeadlines:
    def test_a_pq_alert_is_due_three_days_after_the_decision(self) -> None:
        assert pq_send_by(date(2026, 2, 27)) == date(2026, 3, 2)

    @given(
        decision=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
        days=st.integers(min_value=0, max_value=10),
    )
    def test_overdue_exactly_after_the_last_day_while_unsent(
        self, decision: date, days: int
    ) -> None:
        send_by = pq_send_by(decision)
        now = datetime.combine(decision + timedelta(days=days), datetime.min.time(), UTC)
        assert is_overdue(send_by, None, now) is (days > 3)
        assert not is_overdue(send_by, now, now)
        assert sent_late(send_by, now) is (days > 3)


class TestRetention:
    @given(
        moment=st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
        ),
        months=st.integers(min_value=0, max_value=60),
    )
    def test_months_are_added_on_the_calendar_clamping_the_day(
        self, moment: datetime, months: int
    ) -> None:
        moved = add_months(moment, months)
        assert (moved.year - moment.year) * 12 + moved.month - moment.month == months
        assert moved.day == min(moment.day, moved.day)
        assert moved.day <= moment.day
        assert moved.time() == moment.time()

    def test_the_end_of_january_plus_one_month_is_the_end_of_february(self) -> None:
        assert add_months(datetime(2027, 1, 31, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)

    def test_blocked_after_the_procedures_months_deleted_after_three_years(self) -> None:
        ended = datetime(2026, 3, 15, tzinfo=UTC)
        retention = Retention(ended_at=ended, retention_months=18)
        assert not due_for_blocking(retention, datetime(2027, 9, 14, tzinfo=UTC))
        assert due_for_blocking(retention, datetime(2027, 9, 15, tzinfo=UTC))
        assert not due_for_deletion(retention, datetime(2029, 3, 14, tzinfo=UTC))
        assert due_for_deletion(retention, datetime(2029, 3, 15, tzinfo=UTC))
        assert not due_for_blocking(Retention(None, 18), datetime(2100, 1, 1, tzinfo=UTC))

    def test_reading_needs_a_purpose_and_after_blocking_an_administrator_with_justification(
        self,
    ) -> None:
        ended = datetime(2026, 3, 15, tzinfo=UTC)
        open_ = Retention(ended, 18)
        with pytest.raises(InvalidInput) as missing:
            check_personal_data_read(open_, HANDLER, "  ", None)
        assert missing.value.field == "query.purpose"
        check_personal_data_read(open_, HANDLER, "checking a registration", None)
        blocked = Retention(ended, 18, blocked_at=ended)
        with pytest.raises(Forbidden):
            check_personal_data_read(blocked, HANDLER, "checking", "court order")
        dpa = actor(uuid.uuid4(), "de", "data_protection_administrator")
        with pytest.raises(InvalidInput) as unjustified:
            check_personal_data_read(blocked, dpa, "checking", None)
        assert unjustified.value.field == "query.justification"
        check_personal_data_read(blocked, dpa, "checking", "data subject's access request")
        with pytest.raises(PersonalDataGone):
            check_personal_data_read(Retention(ended, 18, ended, ended), dpa, "x", "y")


class TestContent:
    def test_answers_are_checked_against_the_question_types(self) -> None:
        items = validate_items(
            PQ,
            [
                ("pq_alert_ground", {"option": "falsified"}),
                ("pq_alert_decision_date", {"date": "2026-03-01"}),
                ("pq_alert_scope", {"text": "  Whole territory  "}),
                ("pq_alert_decided_by_court", {"option": "yes"}),
                ("pq_alert_decision_document", None),
            ],
            "de",
            "body.content.items",
        )
        assert items[2]["answer"] == {"text": "Whole territory", "language": "de"}
        assert items[4]["answer"] is None

    @pytest.mark.parametrize(
        ("item", "field"),
        [
            (("pq_unknown", None), "body.items[0].question"),
            (("pq_alert_ground", {"option": "maybe"}), "body.items[0].answer.option"),
            (("pq_alert_decision_date", {"date": "01/03/2026"}), "body.items[0].answer.date"),
            (("pq_alert_scope", {"text": " "}), "body.items[0].answer.text"),
            (("pq_alert_scope", {"text": "x", "language": "xx"}), "body.items[0].answer.language"),
            (("pq_alert_decision_document", {"document": ""}), "body.items[0].answer.document"),
        ],
    )
    def test_a_bad_answer_names_its_field(
        self, item: tuple[str, dict[str, str]], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            validate_items(PQ, [item], "de", "body.items")
        assert refused.value.field == field

    def test_a_question_answered_twice_and_duplicate_text_ids_are_refused(self) -> None:
        with pytest.raises(InvalidInput) as twice:
            validate_items(PQ, [("pq_alert_scope", None), ("pq_alert_scope", None)], "de", "i")
        assert twice.value.field == "i[1].question"
        with pytest.raises(InvalidInput) as same_id:
            validate_free_texts([("a", "x", None), ("a", "y", "fr")], "de", "f")
        assert same_id.value.field == "f[1].id"
        assert validate_free_texts([("a", "Texte", "fr-BE")], "de", "f")[0]["language"] == "fr"

    def test_the_decision_date_is_required_and_not_in_the_future(self) -> None:
        with pytest.raises(InvalidInput) as missing:
            require_decision_date([], date(2026, 3, 1), "body.content.items")
        assert PQ_DECISION_QUESTION in missing.value.detail
        assert missing.value.extra["question"] == PQ_DECISION_QUESTION
        future = [{"question": PQ_DECISION_QUESTION, "answer": {"date": "2026-03-02"}}]
        with pytest.raises(InvalidInput):
            require_decision_date(future, date(2026, 3, 1), "body.content.items")
        assert require_decision_date(future, date(2026, 3, 2), "f") == date(2026, 3, 2)

    def test_the_profession_is_a_keyword_of_professional_qualifications(self) -> None:
        assert require_profession(CATALOGUE, "teacher", "body.profession") == "teacher"
        for wrong in (None, "catering", "astronaut"):
            with pytest.raises(InvalidInput) as refused:
                require_profession(CATALOGUE, wrong, "body.profession")
            assert refused.value.field == "body.profession"
        assert CATALOGUE.keyword_name("teacher", "de") == "Lehrer"
        assert CATALOGUE.keyword_name("teacher", "fi") == "teacher"
        assert CATALOGUE.procedure_name("pq_alert", "fi") == "Alert"

    def test_the_professional_needs_a_name_and_a_past_birth_date(self) -> None:
        today = date(2026, 3, 1)
        found = validate_professional(
            {"full_name": " Anna Berg ", "nationality": "SE", "date_of_birth": "1980-05-04"},
            today,
            "body.professional",
        )
        assert found == {
            "full_name": "Anna Berg",
            "nationality": "se",
            "date_of_birth": "1980-05-04",
        }
        for raw, field in (
            ({}, "body.professional.full_name"),
            ({"full_name": "A", "date_of_birth": "2030-01-01"}, "body.professional.date_of_birth"),
            ({"full_name": "A", "nationality": "Sweden"}, "body.professional.nationality"),
            ({"full_name": "A", "shoe_size": 44}, "body.professional.shoe_size"),
        ):
            with pytest.raises(InvalidInput) as refused:
                validate_professional(raw, today, "body.professional")
            assert refused.value.field == field

    def test_personal_answers_are_split_off_and_removed_on_deletion(self) -> None:
        content = {
            "items": [
                {"question": "pq_alert_ground", "answer": {"option": "falsified"}},
                {"question": "pq_alert_scope", "answer": {"text": "x", "language": "de"}},
            ],
            "free_texts": [{"id": "a", "text": "t", "language": "de"}],
        }
        public, personal = split_personal(content["items"], PQ.personal_questions)
        assert [i["question"] for i in public] == ["pq_alert_ground"]
        assert [i["question"] for i in personal] == ["pq_alert_scope"]
        stripped = without_personal(content, PQ.personal_questions)
        assert stripped["items"] == public
        assert stripped["free_texts"] == content["free_texts"]


class TestTargets:
    def test_a_pq_alert_goes_to_every_other_eea_country(self) -> None:
        target = broadcast_target(AlertKind.PQ_ALERT, None, "de", "body.countries")
        assert len(target.countries) == 29
        assert "de" not in target.countries
        with pytest.raises(InvalidInput):
            broadcast_target(AlertKind.PQ_ALERT, ["fr"], "de", "body.countries")

    def test_all_means_the_30_countries_and_a_list_is_checked(self) -> None:
        assert (
            broadcast_target(AlertKind.SERVICES_ALERT, "all", "de", "c").countries == EEA_COUNTRIES
        )
        chosen = broadcast_target(AlertKind.NOTIFICATION, ["FR", "fr", "at"], "de", "c")
        assert chosen.countries == ("fr", "at")
        for wrong, field in ((None, "c"), ([], "c"), (["fr", "us"], "c[1]"), ("some", "c")):
            with pytest.raises(InvalidInput) as refused:
                broadcast_target(AlertKind.SERVICES_ALERT, wrong, "de", "c")
            assert refused.value.field == field

    def test_a_coordinator_disseminates_only_within_its_country(self) -> None:
        with pytest.raises(Forbidden) as other:
            dissemination_target("fr", "de", ["svc_provider_information"], [], [], CATALOGUE)
        assert other.value.field == "body.country"
        with pytest.raises(InvalidInput) as region:
            dissemination_target("fr", None, [], ["FR-IDF", "DE-BY"], [], CATALOGUE)
        assert region.value.field == "body.regions[1]"
        with pytest.raises(InvalidInput) as nothing:
            dissemination_target("fr", None, [], [], [], CATALOGUE)
        assert nothing.value.field == "body.procedures"
        with pytest.raises(InvalidInput) as unknown:
            dissemination_target("fr", None, ["nope"], [], [], CATALOGUE)
        assert unknown.value.field == "body.procedures[0]"
        target = dissemination_target("fr", "FR", [], ["fr-idf"], [], CATALOGUE)
        assert target.regions == ("FR-IDF",)


class TestHttpPreconditions:
    def test_if_match_is_required_and_compared(self) -> None:
        for missing in (None, "", "*", '"abc"'):
            with pytest.raises(PreconditionRequired):
                matches_if_match(missing, 3)
        assert matches_if_match('"3"', 3)
        assert matches_if_match('W/"3"', 3)
        assert matches_if_match('"2", "3"', 3)
        assert not matches_if_match('"2"', 3)

    @given(
        parts=st.lists(
            st.text(
                alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="|"),
                min_size=1,
            ),
            min_size=1,
            max_size=3,
        )
    )
    def test_cursors_round_trip(self, parts: list[str]) -> None:
        assert decode_cursor(encode_cursor(*parts), len(parts)) == parts

    def test_a_garbled_cursor_names_the_query_field(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            decode_cursor("%%%", 2)
        assert refused.value.field == "query.cursor"

    def test_the_reader_language_comes_from_accept_language_then_the_identity(self) -> None:
        assert reader_language("fr-BE;q=0.5, de;q=0.9", "pl") == "de"
        assert reader_language("xx, *", "pl") == "pl"
        assert reader_language(None, None) == "en"
        assert reader_language("nb", "en") == "no"
