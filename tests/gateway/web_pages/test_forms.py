"""HTML form fields turned into the services' request bodies, and the statistics filters."""

from __future__ import annotations

from starlette.datastructures import FormData

from services.gateway.web.admin import authority_body, caller_country, user_body
from services.gateway.web.alerts import action_body, draft_body
from services.gateway.web.repositories import record_fields, shown
from services.gateway.web.statistics import filters, indicator_series


class TestAlertForms:
    def test_broadcast_to_all_or_to_chosen_countries(self) -> None:
        assert action_body("broadcast", FormData({"scope": "all"})) == {"countries": "all"}
        chosen = FormData({"scope": "chosen", "countries": "DE, pl"})
        assert action_body("broadcast", chosen) == {"countries": ["de", "pl"]}

    def test_dissemination_by_procedure_and_region(self) -> None:
        form = FormData({"procedures": "svc_provider_information", "regions": "de-by,de-be"})
        assert action_body("disseminate", form) == {
            "procedures": ["svc_provider_information"],
            "regions": ["DE-BY", "DE-BE"],
        }

    def test_reject_always_carries_a_reason_withdraw_only_when_given(self) -> None:
        assert action_body("reject", FormData({"reason": ""})) == {"reason": ""}
        assert action_body("withdraw", FormData({"reason": ""})) == {}
        assert action_body("withdraw", FormData({"reason": "wrong"})) == {"reason": "wrong"}

    def test_structured_items_and_free_text(self) -> None:
        form = FormData(
            [
                ("procedure", "svc_alert"),
                ("item.svc_alert_risk_type.option", "health"),
                ("item.svc_alert_facts_date.date", "2026-03-01"),
                ("item.svc_alert_urgency.option", ""),
                ("summary", "Dangerous"),
            ]
        )
        assert draft_body(form) == {
            "procedure": "svc_alert",
            "content": {
                "items": [
                    {"question": "svc_alert_risk_type", "answer": {"option": "health"}},
                    {"question": "svc_alert_facts_date", "answer": {"date": "2026-03-01"}},
                ],
                "free_texts": [{"id": "summary", "text": "Dangerous"}],
            },
        }

    def test_professional_qualifications_alert_fields(self) -> None:
        form = FormData(
            {
                "procedure": "pq_alert",
                "profession": "nurse",
                "decision_date": "2026-11-30",
                "scope": "whole country",
                "full_name": "Erika Mustermann",
            }
        )
        body = draft_body(form)
        assert body["profession"] == "nurse"
        assert body["professional"] == {"full_name": "Erika Mustermann"}
        assert {"question": "pq_alert_decision_date", "answer": {"date": "2026-11-30"}} in body[
            "content"
        ]["items"]


class TestStatisticsFilters:
    def test_valid_filters_pass_through(self) -> None:
        params, errors = filters("DE", "services", "2026-01-01", "")
        assert params == {"country": "de", "area": "services", "from": "2026-01-01"}
        assert errors == {}

    def test_invalid_fields_are_named(self) -> None:
        _, errors = filters("germany", "", "2026-13-01", "soon")
        assert set(errors) == {"country", "from", "to"}

    def test_shares_become_percentages_and_gaps_stay_gaps(self) -> None:
        series = indicator_series(
            [
                {"country": "de", "area": None, "accepted_within_deadline_share": 0.25},
                {"country": "fr", "area": None, "accepted_within_deadline_share": None},
            ],
            "accepted_within_deadline_share",
        )
        assert list(series.labels) == ["DE", "FR"]
        assert list(series.values) == [25.0, None]


class TestRepositoryForms:
    DEFINITION = {
        "fields": [
            {"name": "register_name", "type": "text", "translatable": True},
            {"name": "country", "type": "country"},
            {"name": "subjects", "type": "terms"},
        ]
    }

    def test_translatable_fields_in_the_writers_language(self) -> None:
        form = FormData(
            {"field.register_name": "Registre", "field.country": "fr", "field.subjects": "a, b"}
        )
        assert record_fields(self.DEFINITION, form, "fr") == {
            "register_name": {"fr": "Registre"},
            "country": "fr",
            "subjects": ["a", "b"],
        }

    def test_shown_values(self) -> None:
        assert shown({"text": "x", "language": "en"}) == "x"
        assert shown([{"term": "c", "label": "companies"}]) == "companies"
        assert shown(None) == ""


class TestAdminForms:
    def test_authority_with_competence(self) -> None:
        form = FormData(
            {
                "official_name": "Agence",
                "name_language": "FR",
                "country": "FR",
                "level": "regional",
                "region": "fr-idf",
                "area": "services",
                "procedures": "svc_alert, svc_notification",
            }
        )
        assert authority_body(form) == {
            "official_name": "Agence",
            "name_language": "fr",
            "country": "fr",
            "level": "regional",
            "region": "FR-IDF",
            "competences": [{"area": "services", "procedures": ["svc_alert", "svc_notification"]}],
        }

    def test_user_with_ticked_roles(self) -> None:
        form = FormData(
            [
                ("username", "fr-new"),
                ("display_name", "New"),
                ("password", "secret-pass"),
                ("roles", "request_handler"),
                ("roles", "alert_handler"),
            ]
        )
        assert user_body(form)["roles"] == [{"name": "request_handler"}, {"name": "alert_handler"}]

    def test_caller_country_from_the_identity(self) -> None:
        class Identity:
            country = "FR"

        class Caller:
            identity = Identity()

        assert caller_country(Caller()) == "fr"
