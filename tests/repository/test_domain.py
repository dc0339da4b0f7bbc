"""Pure rules: definitions, record validation, access, CSV reading (no I/O)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from services.repository.domain import (
    Definition,
    Member,
    may_read,
    may_write,
    read_csv,
    search_texts,
    validated_fields,
    write_csv,
)
from services.repository.service import InvalidDefinition, read_definitions
from services.repository.settings import SHIPPED_DEFINITIONS
from shared.languages import reader_language
from shared.problems import InvalidInput

SHIPPED = {d.key: d for d in read_definitions(SHIPPED_DEFINITIONS)}
REGISTERS = SHIPPED["registers"]
CASH = SHIPPED["euro_cash_transport"]


def member(**overrides: object) -> Member:
    values: dict[str, object] = {
        "user_id": uuid.uuid4(),
        "authority_id": uuid.uuid4(),
        "country": "de",
        "roles": frozenset({"request_handler"}),
        "areas": frozenset(),
        "coordinating": False,
        "active": True,
    }
    values.update(overrides)
    return Member(**values)  # type: ignore[arg-type]


class TestDefinitions:
    def test_two_repositories_are_shipped(self) -> None:
        assert set(SHIPPED) == {"registers", "euro_cash_transport"}
        assert CASH.personal_fields == ("contact_person",)
        assert CASH.validity is not None

    def test_a_personal_field_may_not_be_searchable(self, tmp_path: Path) -> None:
        raw = yaml.safe_load((SHIPPED_DEFINITIONS / "euro_cash_transport.yaml").read_text())
        raw["fields"][-1]["searchable"] = True
        (tmp_path / "bad.yaml").write_text(yaml.safe_dump(raw))
        with pytest.raises(
            InvalidDefinition, match="(?s)bad.yaml.*personal data is never searchable"
        ):
            read_definitions(tmp_path)

    def test_the_title_field_must_exist(self) -> None:
        raw = REGISTERS.model_dump(mode="json")
        raw["title_field"] = "nothing"
        with pytest.raises(ValidationError, match="title_field"):
            Definition.model_validate(raw)

    def test_only_text_is_translatable(self) -> None:
        raw = REGISTERS.model_dump(mode="json")
        raw["fields"][1]["translatable"] = True  # country
        with pytest.raises(ValidationError, match="only text fields are translatable"):
            Definition.model_validate(raw)


class TestValidation:
    def test_a_valid_record_is_normalised(self) -> None:
        values = validated_fields(
            REGISTERS,
            {
                "register_name": {"de": " Handelsregister "},
                "country": "DE",
                "keeping_authority": "Amtsgericht",
                "subjects": ["companies", "companies"],
            },
        )
        assert values == {
            "register_name": {"de": "Handelsregister"},
            "country": "de",
            "keeping_authority": "Amtsgericht",
            "subjects": ["companies"],
        }

    def test_every_problem_is_named(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            validated_fields(
                REGISTERS,
                {
                    "register_name": "not a map",
                    "country": "xx",
                    "languages": ["de", "klingon"],
                    "subjects": ["unicorns"],
                    "colour": "red",
                },
            )
        assert {e["field"] for e in caught.value.errors} == {
            "fields.register_name",
            "fields.country",
            "fields.languages",
            "fields.subjects",
            "fields.colour",
            "fields.keeping_authority",
        }

    def test_validity_may_not_end_before_it_starts(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            validated_fields(
                CASH,
                {
                    "company": "X",
                    "licence_number": "1",
                    "country": "fr",
                    "issuing_authority": "Y",
                    "valid_from": "2026-01-01",
                    "valid_until": "2025-01-01",
                },
            )
        assert caught.value.errors == [
            {"field": "fields.valid_until", "message": "ends before it starts"}
        ]

    def test_vocabulary_labels_enter_the_search_texts_in_every_language(self) -> None:
        values = validated_fields(
            REGISTERS,
            {
                "register_name": {"it": "PRA"},
                "country": "it",
                "keeping_authority": "ACI",
                "subjects": ["vehicles"],
            },
        )
        texts = search_texts(REGISTERS, values)
        assert texts.title == {"it": "PRA"}
        assert "Fahrzeuge" in texts.by_language["de"]
        assert "véhicules" in texts.by_language["fr"]


class TestAccess:
    def test_a_group_repository_is_read_by_its_members_only(self) -> None:
        assert may_read(CASH, member(areas=frozenset({"euro_cash_transport"})))
        assert may_read(CASH, member(coordinating=True))
        assert not may_read(CASH, member(areas=frozenset({"services"})))
        assert not may_read(CASH, None)
        assert not may_read(CASH, member(areas=frozenset({"euro_cash_transport"}), active=False))

    def test_writers_need_a_named_role_of_a_named_authority(self) -> None:
        cash_admin = member(
            areas=frozenset({"euro_cash_transport"}), roles=frozenset({"local_data_administrator"})
        )
        assert may_write(CASH, cash_admin)
        assert not may_write(
            CASH, member(areas=frozenset({"euro_cash_transport"}), roles=frozenset({"read_only"}))
        )
        assert not may_write(CASH, member(coordinating=True, roles=frozenset({"request_handler"})))

    def test_an_open_repository_is_read_by_anyone(self) -> None:
        assert may_read(REGISTERS, None)
        assert not may_write(REGISTERS, None)


class TestCsv:
    def test_written_csv_reads_back_the_same(self) -> None:
        values = validated_fields(
            REGISTERS,
            {
                "register_name": {"de": "Grundbuch", "fr": "Livre foncier"},
                "country": "at",
                "keeping_authority": "Bezirksgericht, Abteilung 2",
                "languages": ["de", "en"],
            },
        )
        text = write_csv(REGISTERS, [(uuid.uuid4(), values)])
        rows = read_csv(REGISTERS, text, max_rows=10)
        assert [r.fields for r in rows] == [values]

    def test_row_errors_name_the_line_and_column(self) -> None:
        text = "register_name:de,country,keeping_authority,languages\nA,de,B,de\nC,de,,xx\n"
        rows = read_csv(REGISTERS, text, max_rows=10)
        assert rows[0].errors == []
        assert {(e["row"], e["field"]) for e in rows[1].errors} == {
            (3, "keeping_authority"),
            (3, "languages"),
        }

    def test_too_many_rows(self) -> None:
        text = "register_name:de,country,keeping_authority\n" + "A,de,B\n" * 3
        with pytest.raises(InvalidInput, match="at most 2 rows"):
            read_csv(REGISTERS, text, max_rows=2)


class TestReaderLanguage:
    @pytest.mark.parametrize(
        ("header", "identity", "expected"),
        [
            ("de-AT,en;q=0.5", "fr", "de"),
            ("xx, en;q=0.1", "fr", "en"),
            (None, "pl", "pl"),
            (None, None, "en"),
        ],
    )
    def test_picks_a_network_language(
        self, header: str | None, identity: str | None, expected: str
    ) -> None:
        assert reader_language(header, identity) == expected
