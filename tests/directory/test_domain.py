"""Pure rules: lifecycle, scopes of coordinators, local data administrators and the Commission,
role grants, validation, cross-lingual query planning, cursors, CSV rows, history."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.directory.domain import (
    ActorScope,
    AuthorityAction,
    AuthorityFields,
    AuthorityScope,
    CatalogueView,
    PreconditionRequired,
    SearchFilters,
    Transition,
    allowed_actions,
    authority_permissions,
    changed_fields,
    check_register,
    check_role_changes,
    check_transition,
    check_update,
    check_user_deactivation,
    check_user_update,
    check_version,
    clean_authority,
    clean_roles,
    decode_cursor,
    encode_cursor,
    fold,
    matched_competences,
    may_grant,
    may_see,
    next_status,
    plan_search,
    read_import,
    valid_email,
    visibility,
    with_changes,
)
from services.directory.geography import EEA_COUNTRIES, PLACES
from shared.contracts.directory import (
    AuthorityLevel,
    AuthoritySnapshot,
    AuthorityStatus,
    Competence,
    UserSnapshot,
)
from shared.identity import Identity, Role
from shared.languages import language_tag, reader_language
from shared.problems import Conflict, Forbidden, InvalidInput, StaleVersion

PQ = "professional_qualifications"
SERVICES = "services"
POSTING = "posting_of_workers"

CATALOGUE = CatalogueView(
    version="test",
    area_names={
        PQ: {"en": "Recognition of professional qualifications", "pt": "Reconhecimento"},
        SERVICES: {"en": "Services"},
        POSTING: {"en": "Posting of workers"},
    },
    procedure_names={
        "pq_establishment": {"en": "Establishment", "de": "Niederlassung"},
        "svc_provider_information": {"en": "Information on a service provider"},
        "pw_information_request": {"en": "Posting of workers: information request"},
    },
    procedure_areas={
        "pq_establishment": PQ,
        "svc_provider_information": SERVICES,
        "pw_information_request": POSTING,
    },
    keywords={
        "teacher": {
            "en": ("teacher", "school teacher"),
            "pt": ("professor", "professora"),
            "de": ("Lehrer", "Lehrerin"),
            "el": ("εκπαιδευτικός",),
        },
        "secondary_school_teacher": {
            "en": ("secondary school teacher",),
            "pt": ("professor do ensino secundário",),
        },
        "nurse": {"en": ("nurse",), "pl": ("pielęgniarka",), "de": ("Krankenschwester",)},
        "catering": {"en": ("catering",), "de": ("Catering", "Gastronomie")},
        "construction": {"en": ("construction",), "fi": ("rakentaminen",)},
    },
    keyword_areas={
        "teacher": PQ,
        "secondary_school_teacher": PQ,
        "nurse": PQ,
        "catering": SERVICES,
        "construction": POSTING,
    },
)


def actor(
    *roles: Role, country: str | None = "pt", authority: uuid.UUID | None = None
) -> ActorScope:
    return ActorScope.of(
        Identity(
            user_id=uuid.uuid4(),
            username="someone",
            authority_id=authority,
            country=country,
            roles=roles,
        )
    )


NATIONAL = Role(name="national_coordinator")
COMMISSION = Role(name="commission")
LOCAL_ADMIN = Role(name="local_data_administrator")
DELEGATED_PQ = Role(name="delegated_coordinator", area=PQ)
DELEGATED_NORTH = Role(name="delegated_coordinator", region="PT-13")
HANDLER = Role(name="request_handler")


def authority(**overrides: Any) -> AuthoritySnapshot:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "country": "pt",
        "region": "PT-13",
        "level": AuthorityLevel.REGIONAL,
        "official_name": "Direção de Serviços da Região Norte",
        "name_language": "pt",
        "competences": (
            Competence(area=PQ, procedures=("pq_establishment",), keywords=("teacher",)),
        ),
        "status": AuthorityStatus.REGISTERED,
        "version": 1,
    }
    values.update(overrides)
    return AuthoritySnapshot(**values)


def fields(**overrides: Any) -> AuthorityFields:
    values: dict[str, Any] = {
        "country": "pt",
        "level": AuthorityLevel.REGIONAL,
        "official_name": "Direção de Serviços da Região Norte",
        "name_language": "pt",
        "region": "PT-13",
        "competences": (Competence(area=PQ, keywords=("teacher",)),),
    }
    values.update(overrides)
    return AuthorityFields(**values)


# --- lifecycle -------------------------------------------------------------------------------

LIFECYCLE = [
    (AuthorityStatus.REGISTERED, Transition.VALIDATE, AuthorityStatus.VALIDATED),
    (AuthorityStatus.REGISTERED, Transition.ACTIVATE, None),
    (AuthorityStatus.REGISTERED, Transition.DEACTIVATE, AuthorityStatus.DEACTIVATED),
    (AuthorityStatus.VALIDATED, Transition.VALIDATE, None),
    (AuthorityStatus.VALIDATED, Transition.ACTIVATE, AuthorityStatus.ACTIVE),
    (AuthorityStatus.VALIDATED, Transition.DEACTIVATE, AuthorityStatus.DEACTIVATED),
    (AuthorityStatus.ACTIVE, Transition.VALIDATE, None),
    (AuthorityStatus.ACTIVE, Transition.ACTIVATE, None),
    (AuthorityStatus.ACTIVE, Transition.DEACTIVATE, AuthorityStatus.DEACTIVATED),
    (AuthorityStatus.DEACTIVATED, Transition.VALIDATE, None),
    (AuthorityStatus.DEACTIVATED, Transition.ACTIVATE, AuthorityStatus.ACTIVE),
    (AuthorityStatus.DEACTIVATED, Transition.DEACTIVATE, None),
]


class TestLifecycle:
    @pytest.mark.parametrize(("status", "transition", "target"), LIFECYCLE)
    def test_each_transition_from_each_status(
        self, status: AuthorityStatus, transition: Transition, target: AuthorityStatus | None
    ) -> None:
        if target is None:
            with pytest.raises(Conflict) as refused:
                next_status(status, transition)
            assert transition.value not in refused.value.extra["allowed_actions"]
        else:
            assert next_status(status, transition) is target

    def test_the_conflict_lists_the_possible_actions(self) -> None:
        with pytest.raises(Conflict) as refused:
            next_status(AuthorityStatus.ACTIVE, Transition.VALIDATE)
        assert refused.value.extra["allowed_actions"] == ["deactivate"]

    def test_missing_if_match_is_428_and_a_stale_one_412(self) -> None:
        with pytest.raises(PreconditionRequired):
            check_version(None, 3)
        with pytest.raises(StaleVersion):
            check_version('"2"', 3)
        check_version('"3"', 3)
        check_version('W/"3"', 3)
        check_version('"1", "3"', 3)


# --- scopes: registration --------------------------------------------------------------------


class TestRegistrationScope:
    def test_a_national_coordinator_registers_in_their_country(self) -> None:
        check_register(actor(NATIONAL), fields(), PLACES)

    def test_a_national_coordinator_cannot_register_in_another_country(self) -> None:
        with pytest.raises(Forbidden) as refused:
            check_register(actor(NATIONAL, country="es"), fields(), PLACES)
        assert refused.value.field == "body.country"

    def test_a_national_coordinator_cannot_register_a_coordinating_authority(self) -> None:
        with pytest.raises(Forbidden) as refused:
            check_register(actor(NATIONAL), fields(coordinating=True), PLACES)
        assert refused.value.field == "body.coordinating"

    def test_a_delegated_area_coordinator_registers_inside_the_area(self) -> None:
        check_register(actor(DELEGATED_PQ), fields(), PLACES)

    def test_a_delegated_area_coordinator_cannot_register_beyond_the_area(self) -> None:
        mixed = fields(competences=(Competence(area=PQ), Competence(area=SERVICES)))
        with pytest.raises(Forbidden) as refused:
            check_register(actor(DELEGATED_PQ), mixed, PLACES)
        assert refused.value.field == "body.competences[1].area"

    def test_a_delegated_area_coordinator_cannot_register_without_competences(self) -> None:
        with pytest.raises(Forbidden):
            check_register(actor(DELEGATED_PQ), fields(competences=()), PLACES)

    def test_a_delegated_region_coordinator_registers_inside_the_region(self) -> None:
        check_register(actor(DELEGATED_NORTH), fields(region="PT-13"), PLACES)

    def test_a_delegated_region_coordinator_cannot_register_outside_the_region(self) -> None:
        with pytest.raises(Forbidden) as refused:
            check_register(actor(DELEGATED_NORTH), fields(region="PT-11"), PLACES)
        assert refused.value.field == "body.region"

    def test_a_region_delegation_covers_the_regions_inside_it(self) -> None:
        flanders = Role(name="delegated_coordinator", region="BE-VLG")
        antwerp = fields(country="be", region="BE-VAN", name_language="nl")
        check_register(actor(flanders, country="be"), antwerp, PLACES)

    def test_the_commission_registers_coordinating_authorities_of_any_country(self) -> None:
        coordinating = fields(
            country="de",
            region=None,
            level=AuthorityLevel.NATIONAL,
            coordinating=True,
            competences=(),
        )
        check_register(actor(COMMISSION, country="eu"), coordinating, PLACES)

    def test_the_commission_does_not_register_ordinary_authorities(self) -> None:
        with pytest.raises(Forbidden) as refused:
            check_register(actor(COMMISSION, country="eu"), fields(), PLACES)
        assert refused.value.field == "body.coordinating"

    def test_ordinary_users_do_not_register(self) -> None:
        with pytest.raises(Forbidden):
            check_register(actor(HANDLER, LOCAL_ADMIN), fields(), PLACES)

    @given(
        own=st.sampled_from(EEA_COUNTRIES),
        other=st.sampled_from(EEA_COUNTRIES),
        roles=st.lists(st.sampled_from([NATIONAL, DELEGATED_PQ, LOCAL_ADMIN, HANDLER]), min_size=1),
    )
    def test_nobody_registers_in_another_country(
        self, own: str, other: str, roles: list[Role]
    ) -> None:
        if own == other:
            return
        draft = fields(country=other, region=None, level=AuthorityLevel.NATIONAL)
        with pytest.raises(Forbidden):
            check_register(actor(*roles, country=own), draft, PLACES)


# --- scopes: acting on an authority ----------------------------------------------------------


class TestAuthorityScope:
    def test_a_national_coordinator_validates_in_their_country(self) -> None:
        assert check_transition(actor(NATIONAL), authority(), Transition.VALIDATE, PLACES) is (
            AuthorityStatus.VALIDATED
        )

    def test_a_national_coordinator_cannot_act_in_another_country(self) -> None:
        with pytest.raises(Forbidden):
            check_transition(
                actor(NATIONAL, country="es"), authority(), Transition.VALIDATE, PLACES
            )

    def test_a_delegated_area_coordinator_acts_on_authorities_competent_in_the_area(self) -> None:
        check_transition(actor(DELEGATED_PQ), authority(), Transition.VALIDATE, PLACES)

    def test_a_delegated_area_coordinator_cannot_act_on_other_areas(self) -> None:
        services_only = authority(competences=(Competence(area=SERVICES),))
        with pytest.raises(Forbidden):
            check_transition(actor(DELEGATED_PQ), services_only, Transition.VALIDATE, PLACES)

    def test_a_delegated_region_coordinator_acts_inside_the_region(self) -> None:
        check_transition(actor(DELEGATED_NORTH), authority(), Transition.DEACTIVATE, PLACES)

    def test_a_delegated_region_coordinator_cannot_act_outside_the_region(self) -> None:
        with pytest.raises(Forbidden):
            check_transition(
                actor(DELEGATED_NORTH), authority(region="PT-11"), Transition.VALIDATE, PLACES
            )

    def test_the_local_data_administrator_activates_their_validated_authority(self) -> None:
        own = authority(status=AuthorityStatus.VALIDATED)
        admin = actor(LOCAL_ADMIN, authority=own.id)
        assert check_transition(admin, own, Transition.ACTIVATE, PLACES) is AuthorityStatus.ACTIVE

    def test_the_local_data_administrator_does_not_validate_or_bring_back(self) -> None:
        own = authority()
        admin = actor(LOCAL_ADMIN, authority=own.id)
        with pytest.raises(Forbidden):
            check_transition(admin, own, Transition.VALIDATE, PLACES)
        gone = authority(status=AuthorityStatus.DEACTIVATED)
        with pytest.raises(Forbidden):
            check_transition(
                actor(LOCAL_ADMIN, authority=gone.id), gone, Transition.ACTIVATE, PLACES
            )

    def test_a_local_data_administrator_of_another_authority_has_no_rights(self) -> None:
        assert (
            authority_permissions(
                actor(LOCAL_ADMIN, authority=uuid.uuid4()), AuthorityScope.of(authority(), PLACES)
            )
            == frozenset()
        )

    def test_the_commission_acts_on_coordinating_authorities_only(self) -> None:
        coordinating = authority(country="de", region=None, coordinating=True, competences=())
        commission = actor(COMMISSION, country="eu")
        check_transition(commission, coordinating, Transition.VALIDATE, PLACES)
        with pytest.raises(Forbidden):
            check_transition(commission, authority(), Transition.VALIDATE, PLACES)

    def test_the_national_coordinator_keeps_but_does_not_deactivate_their_own_authority(
        self,
    ) -> None:
        own = authority(
            region=None, coordinating=True, competences=(), status=AuthorityStatus.ACTIVE
        )
        coordinator = actor(NATIONAL, authority=own.id)
        permissions = authority_permissions(coordinator, AuthorityScope.of(own, PLACES))
        assert AuthorityAction.UPDATE in permissions
        assert AuthorityAction.MANAGE_USERS in permissions
        with pytest.raises(Forbidden):
            check_transition(coordinator, own, Transition.DEACTIVATE, PLACES)

    @given(
        own=st.sampled_from(EEA_COUNTRIES),
        other=st.sampled_from(EEA_COUNTRIES),
        roles=st.lists(
            st.sampled_from([NATIONAL, DELEGATED_PQ, LOCAL_ADMIN, HANDLER, DELEGATED_NORTH]),
            min_size=1,
        ),
    )
    def test_nobody_acts_on_another_countrys_authority(
        self, own: str, other: str, roles: list[Role]
    ) -> None:
        if own == other:
            return
        target = authority(country=other, region=None, level=AuthorityLevel.NATIONAL)
        assert (
            authority_permissions(actor(*roles, country=own), AuthorityScope.of(target, PLACES))
            == frozenset()
        )

    def test_others_see_active_authorities_only(self) -> None:
        stranger = actor(HANDLER, country="fi")
        assert may_see(stranger, authority(status=AuthorityStatus.ACTIVE), PLACES)
        assert not may_see(stranger, authority(status=AuthorityStatus.VALIDATED), PLACES)
        assert may_see(actor(COMMISSION, country="eu"), authority(), PLACES)

    def test_allowed_actions_show_what_the_caller_may_do_now(self) -> None:
        assert allowed_actions(actor(NATIONAL), authority(), PLACES) == [
            "update",
            "register_user",
            "validate",
            "deactivate",
        ]
        assert allowed_actions(actor(HANDLER, country="fi"), authority(), PLACES) == []


class TestUpdateScope:
    def test_a_local_data_administrator_changes_contact_data_only(self) -> None:
        own = authority()
        admin = actor(LOCAL_ADMIN, authority=own.id)
        check_update(admin, own, fields(email="x@y.pt"), ["email", "phone"], PLACES)
        with pytest.raises(Forbidden) as refused:
            check_update(admin, own, fields(), ["competences"], PLACES)
        assert refused.value.field == "body.competences"

    def test_a_delegated_area_coordinator_changes_competences_of_the_area_only(self) -> None:
        before = authority()
        inside = fields(competences=(Competence(area=PQ, keywords=("teacher", "nurse")),))
        check_update(actor(DELEGATED_PQ), before, inside, ["competences"], PLACES)
        beyond = fields(competences=(*before.competences, Competence(area=SERVICES)))
        with pytest.raises(Forbidden) as refused:
            check_update(actor(DELEGATED_PQ), before, beyond, ["competences"], PLACES)
        assert refused.value.field == "body.competences[1]"

    def test_a_delegated_region_coordinator_cannot_move_an_authority_out(self) -> None:
        with pytest.raises(Forbidden) as refused:
            check_update(
                actor(DELEGATED_NORTH), authority(), fields(region="PT-11"), ["region"], PLACES
            )
        assert refused.value.field == "body.region"

    def test_a_deactivated_authority_is_not_changed(self) -> None:
        with pytest.raises(Conflict):
            check_update(
                actor(NATIONAL),
                authority(status=AuthorityStatus.DEACTIVATED),
                fields(),
                ["email"],
                PLACES,
            )

    def test_country_and_coordinating_never_change(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            with_changes(fields(), {"country": "es"}, "body")
        assert refused.value.field == "body.country"


# --- users and roles -------------------------------------------------------------------------


def user(authority_id: uuid.UUID, *roles: Role, active: bool = True) -> UserSnapshot:
    return UserSnapshot(
        id=uuid.uuid4(),
        username="ines",
        display_name="Inês",
        authority_id=authority_id,
        country="pt",
        language="pt",
        roles=roles,
        active=active,
        version=1,
    )


class TestRoleGrants:
    def test_a_local_data_administrator_gives_ordinary_roles_in_own_authority(self) -> None:
        own = authority()
        assert may_grant(actor(LOCAL_ADMIN, authority=own.id), own, HANDLER, PLACES) is None

    def test_a_local_data_administrator_gives_no_coordinator_roles(self) -> None:
        own = authority()
        admin = actor(LOCAL_ADMIN, authority=own.id)
        for role in (
            NATIONAL,
            DELEGATED_PQ,
            Role(name="alert_coordinator"),
            Role(name="data_protection_administrator"),
        ):
            assert may_grant(admin, own, role, PLACES) is not None

    def test_a_local_data_administrator_gives_no_roles_beyond_the_authority(self) -> None:
        own = authority()
        admin = actor(LOCAL_ADMIN, authority=own.id)
        beyond = Role(name="request_handler", area=SERVICES)
        assert may_grant(admin, own, beyond, PLACES) == (
            "the authority is not competent for 'services'"
        )

    def test_a_local_data_administrator_of_another_authority_gives_nothing(self) -> None:
        assert (
            may_grant(actor(LOCAL_ADMIN, authority=uuid.uuid4()), authority(), HANDLER, PLACES)
            is not None
        )

    def test_a_delegated_area_coordinator_gives_roles_of_the_area(self) -> None:
        target = authority()
        assert (
            may_grant(actor(DELEGATED_PQ), target, Role(name="request_handler", area=PQ), PLACES)
            is None
        )
        assert may_grant(actor(DELEGATED_PQ), target, HANDLER, PLACES) is not None

    def test_a_delegation_is_passed_on_only_within_itself(self) -> None:
        target = authority()
        assert may_grant(actor(DELEGATED_PQ), target, DELEGATED_PQ, PLACES) is None
        other_area = Role(name="delegated_coordinator", area=SERVICES)
        assert may_grant(actor(DELEGATED_PQ), target, other_area, PLACES) is not None

    def test_national_coordinators_are_named_by_the_commission_or_their_peers(self) -> None:
        seat = authority(region=None, coordinating=True, competences=())
        assert may_grant(actor(COMMISSION, country="eu"), seat, NATIONAL, PLACES) is None
        assert may_grant(actor(NATIONAL, authority=seat.id), seat, NATIONAL, PLACES) is None
        assert may_grant(actor(DELEGATED_NORTH), seat, NATIONAL, PLACES) is not None

    def test_taking_a_role_away_needs_the_same_right_as_giving_it(self) -> None:
        own = authority()
        admin = actor(LOCAL_ADMIN, authority=own.id)
        with pytest.raises(Forbidden):
            check_role_changes(admin, own, (Role(name="alert_coordinator"),), (), PLACES)
        check_role_changes(admin, own, (HANDLER,), (), PLACES)

    def test_roles_are_validated_against_the_authority(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            clean_roles([NATIONAL], authority(), CATALOGUE.areas, PLACES)
        assert refused.value.field == "body.roles[0].name"
        with pytest.raises(InvalidInput) as refused:
            clean_roles([Role(name="delegated_coordinator")], authority(), CATALOGUE.areas, PLACES)
        assert refused.value.field == "body.roles[0].area"
        with pytest.raises(InvalidInput) as refused:
            clean_roles(
                [Role(name="delegated_coordinator", region="ES-CT")],
                authority(),
                CATALOGUE.areas,
                PLACES,
            )
        assert refused.value.field == "body.roles[0].region"
        with pytest.raises(InvalidInput):
            clean_roles([HANDLER, HANDLER], authority(), CATALOGUE.areas, PLACES)
        with pytest.raises(InvalidInput):
            clean_roles([COMMISSION], authority(), CATALOGUE.areas, PLACES)

    def test_a_user_changes_only_their_own_details(self) -> None:
        own = authority()
        me = actor(HANDLER, authority=own.id)
        mine = user(own.id, HANDLER)
        me = ActorScope(
            user_id=mine.id,
            authority_id=own.id,
            country="pt",
            commission=False,
            national=False,
            delegated_areas=frozenset(),
            delegated_regions=frozenset(),
            local_admin=False,
        )
        check_user_update(me, mine, own, ["display_name", "password"], PLACES)
        with pytest.raises(Forbidden):
            check_user_update(me, mine, own, ["roles"], PLACES)
        with pytest.raises(Forbidden):
            check_user_update(me, user(own.id, HANDLER), own, ["display_name"], PLACES)

    def test_deactivating_a_user_needs_the_right_over_each_of_their_roles(self) -> None:
        own = authority()
        admin = actor(LOCAL_ADMIN, authority=own.id)
        check_user_deactivation(admin, user(own.id, HANDLER), own, PLACES)
        with pytest.raises(Forbidden):
            check_user_deactivation(
                admin, user(own.id, Role(name="alert_coordinator")), own, PLACES
            )


class TestVisibility:
    def test_coordinators_see_their_scope_and_users_their_authority(self) -> None:
        assert visibility(actor(NATIONAL), PLACES).countries == {"pt"}
        region = visibility(actor(DELEGATED_NORTH), PLACES)
        assert region.country_regions == (("pt", frozenset({"PT-13"})),)
        own = uuid.uuid4()
        assert visibility(actor(HANDLER, authority=own), PLACES).authority_ids == {own}
        assert visibility(actor(COMMISSION, country="eu"), PLACES).everything


# --- validation ------------------------------------------------------------------------------


class TestAuthorityValidation:
    def test_a_valid_authority_is_normalised(self) -> None:
        clean = clean_authority(
            fields(
                country="PT",
                region="pt-13",
                official_name="  Direção   Norte ",
                languages=("pt-PT", "en", "pt"),
                informal_titles={"EN": "North"},
            ),
            CATALOGUE,
            PLACES,
        )
        assert (clean.country, clean.region, clean.official_name) == (
            "pt",
            "PT-13",
            "Direção Norte",
        )
        assert clean.languages == ("pt", "en")
        assert clean.informal_titles == {"en": "North"}

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"country": "xx"}, "body.country"),
            ({"region": "ES-CT"}, "body.region"),
            ({"official_name": ""}, "body.official_name"),
            ({"official_name": "x" * 301}, "body.official_name"),
            ({"name_language": "klingon"}, "body.name_language"),
            ({"email": "a@b"}, "body.email"),
            ({"phone": "call me"}, "body.phone"),
            ({"level": AuthorityLevel.LOCAL, "region": None}, "body.region"),
            ({"competences": (Competence(area="space"),)}, "body.competences[0].area"),
            (
                {"competences": (Competence(area=PQ), Competence(area=PQ))},
                "body.competences[1].area",
            ),
            (
                {"competences": (Competence(area=PQ, regions=("ES-CT",)),)},
                "body.competences[0].regions[0]",
            ),
        ],
    )
    def test_each_invalid_field_is_named(self, overrides: dict[str, Any], field: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            clean_authority(fields(**overrides), CATALOGUE, PLACES)
        assert field in [e["field"] for e in refused.value.errors]

    def test_the_commission_country_is_only_accepted_where_allowed(self) -> None:
        commission = fields(country="eu", region=None, level=AuthorityLevel.NATIONAL)
        clean_authority(commission, CATALOGUE, PLACES)
        with pytest.raises(InvalidInput):
            clean_authority(commission, CATALOGUE, PLACES, allow_commission=False)

    @given(st.emails())
    def test_generated_email_addresses_are_accepted(self, address: str) -> None:
        local, _, domain = address.rpartition("@")
        if len(local) > 64 or len(address) > 254 or not domain.rsplit(".", 1)[-1].isalpha():
            return
        assert valid_email(address)

    @pytest.mark.parametrize(
        "address",
        ["", "a", "a@", "@b.pt", "a@b", "a b@c.pt", "a@@b.pt", "a..b@c.pt", "a@b..pt", ".a@b.pt"],
    )
    def test_malformed_email_addresses_are_refused(self, address: str) -> None:
        assert not valid_email(address)


class TestLanguages:
    def test_tags_map_to_the_network_languages(self) -> None:
        assert language_tag("pt-PT") == "pt"
        assert language_tag("nb") == "no"
        assert language_tag("xx") is None

    def test_accept_language_wins_over_the_identity(self) -> None:
        assert reader_language("xx, de-AT;q=0.9, en;q=0.5", "fi") == "de"
        assert reader_language(None, "fi") == "fi"
        assert reader_language("", None) == "en"


# --- search planning -------------------------------------------------------------------------


class TestFolding:
    @given(st.text(max_size=40))
    def test_folding_is_idempotent(self, text: str) -> None:
        assert fold(fold(text)) == fold(text)

    @pytest.mark.parametrize(
        ("typed", "stored"),
        [
            ("ΕΚΠΑΙΔΕΥΤΙΚΟΣ", "εκπαιδευτικός"),
            ("pielegniarka", "pielęgniarka"),
            ("ARZTIN", "Ärztin"),
            ("zilina", "Žilina"),
            ("tara", "țară"),
        ],
    )
    def test_case_and_accents_do_not_matter(self, typed: str, stored: str) -> None:
        assert fold(typed) == fold(stored)


class TestPlanSearch:
    def test_a_term_in_any_language_names_its_keyword(self) -> None:
        for query in ("professor", "Lehrerin", "εκπαιδευτικος", "TEACHER"):
            plan = plan_search(query, None, CATALOGUE)
            assert plan.keywords_exact == ["teacher"], query

    def test_a_prefix_of_a_word_names_keywords_as_prefix_matches(self) -> None:
        plan = plan_search("lehr", None, CATALOGUE)
        assert plan.keywords_prefix == ["teacher"]
        assert plan.keywords_exact == []

    def test_an_exact_term_keeps_prefix_matches_of_its_own_language_only(self) -> None:
        plan = plan_search("professor", None, CATALOGUE)
        assert set(plan.keyword_matches) == {"teacher", "secondary_school_teacher"}
        assert plan.keyword_matches["secondary_school_teacher"].exact is False

    def test_the_given_language_is_tried_first(self) -> None:
        plan = plan_search("catering", "de", CATALOGUE)
        assert plan.keyword_matches["catering"].entry.language == "de"

    def test_a_procedure_name_names_the_procedure(self) -> None:
        plan = plan_search("Niederlassung", None, CATALOGUE)
        assert list(plan.procedure_matches) == ["pq_establishment"]

    def test_each_word_of_a_longer_query_is_planned(self) -> None:
        plan = plan_search("teacher Porto", None, CATALOGUE)
        assert plan.words == ("teacher", "porto")
        # "teacher" also starts a word of "secondary school teacher".
        assert plan.word_keywords() == [["secondary_school_teacher", "teacher"], []]
        assert plan.word_matches[0]["teacher"].exact is True

    def test_a_query_of_more_than_200_characters_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            plan_search("x" * 10_000, None, CATALOGUE)
        assert refused.value.field == "query.q"

    def test_matched_competences_are_named_in_the_readers_language(self) -> None:
        plan = plan_search("Lehrer", None, CATALOGUE)
        competences = (
            Competence(area=PQ, procedures=("pq_establishment",), keywords=("teacher", "nurse")),
            Competence(area=SERVICES, keywords=("catering",)),
        )
        [matched] = matched_competences(competences, plan, SearchFilters(), CATALOGUE, "pt")
        assert matched["area"] == {"key": PQ, "name": "Reconhecimento"}
        assert matched["keywords"] == [
            {
                "key": "teacher",
                "term": "professor",
                "matched_term": "Lehrer",
                "matched_language": "de",
            }
        ]


class TestCursors:
    @given(
        st.lists(st.one_of(st.integers(), st.text(max_size=20)), max_size=3),
        st.text(min_size=1, max_size=12),
    )
    def test_a_cursor_gives_back_its_position(self, position: list[Any], owner: str) -> None:
        assert decode_cursor(encode_cursor(position, owner), owner) == position

    def test_a_cursor_of_another_query_or_garbage_is_refused(self) -> None:
        cursor = encode_cursor([1, "a"], "one")
        with pytest.raises(InvalidInput):
            decode_cursor(cursor, "other")
        with pytest.raises(InvalidInput):
            decode_cursor("%%%", "one")


# --- import and history ----------------------------------------------------------------------


class TestReadImport:
    def test_rows_become_authorities_with_competences_grouped_by_area(self) -> None:
        text = (
            "official_name,name_language,country,region,level,keywords,procedures\n"
            "Câmara Municipal do Porto,pt,pt,PT-13,local,teacher;catering,pq_establishment\n"
        )
        [row] = read_import(text, CATALOGUE, PLACES)
        assert row.ok
        assert row.fields is not None
        by_area = {c.area: c for c in row.fields.competences}
        assert by_area[PQ].keywords == ("teacher",)
        assert by_area[PQ].procedures == ("pq_establishment",)
        assert by_area[SERVICES].keywords == ("catering",)

    def test_a_bad_cell_is_reported_under_its_column(self) -> None:
        text = (
            "official_name,name_language,country,level,region,keywords\n"
            "A,pt,pt,local,PT-13,astronaut\n"
            "B,xx,pt,local,PT-13,\n"
            ",pt,pt,local,PT-13,\n"
        )
        rows = read_import(text, CATALOGUE, PLACES)
        assert [(r.line, r.errors[0].field) for r in rows] == [
            (2, "keywords"),
            (3, "name_language"),
            (4, "official_name"),
        ]


class TestHistory:
    def test_only_changed_fields_are_recorded_with_before_and_after(self) -> None:
        before = {"email": "a@b.pt", "phone": None, "version": 1}
        after = {"email": "c@d.pt", "phone": None, "version": 2}
        assert changed_fields(before, after) == {"email": {"before": "a@b.pt", "after": "c@d.pt"}}
