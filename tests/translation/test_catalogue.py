"""The catalogue files: completeness in 26 languages, versions, malformed files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services.translation.catalogue_check import check, main
from services.translation.catalogue_files import load_catalogue
from services.translation.domain import CatalogueError
from shared.contracts.translation import LANGUAGES
from tests.translation.conftest import CATALOGUE_DIR

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE_DIR, target)
    return target


def edit_texts(directory: Path, language: str, change: dict[str, object | None]) -> None:
    path = directory / "texts" / f"{language}.yaml"
    texts = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in change.items():
        if value is None:
            del texts[key]
        else:
            texts[key] = value
    path.write_text(yaml.safe_dump(texts, allow_unicode=True), encoding="utf-8")


class TestCompleteness:
    def test_every_text_is_there_in_all_26_languages(self) -> None:
        missing, _ = check(CATALOGUE_DIR)
        assert [str(m) for m in missing[:20]] == [], f"{len(missing)} texts missing"

    def test_the_command_passes_on_the_shipped_catalogue(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "services.translation.catalogue_check"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout[-2000:]
        assert "catalogue complete" in result.stdout

    def test_removing_one_text_from_a_copy_fails_the_check(
        self, copy: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        edit_texts(copy, "fi", {"question.pq_diploma_authentic.help": None})
        missing, _ = check(copy)
        assert [str(m) for m in missing] == ["fi: question.pq_diploma_authentic.help"]
        assert main([str(copy)]) == 1
        assert "missing fi: question.pq_diploma_authentic.help" in capsys.readouterr().out

    def test_an_empty_text_counts_as_missing(self, copy: Path) -> None:
        edit_texts(copy, "el", {"option.pq_sanction_type.fine.text": " "})
        missing, _ = check(copy)
        assert [str(m) for m in missing] == ["el: option.pq_sanction_type.fine.text"]

    def test_a_keyword_without_terms_counts_as_missing(self, copy: Path) -> None:
        edit_texts(copy, "pt", {"keyword.nurse": []})
        assert [str(m) for m in check(copy)[0]] == ["pt: keyword.nurse"]

    def test_a_missing_language_file_fails_for_each_of_its_texts(self, copy: Path) -> None:
        (copy / "texts" / "mt.yaml").unlink()
        missing, _ = check(copy)
        assert {m.language for m in missing} == {"mt"}
        assert len(missing) > 100

    def test_a_new_question_without_its_translations_fails(self, copy: Path) -> None:
        path = copy / "areas" / "services.yaml"
        area = yaml.safe_load(path.read_text(encoding="utf-8"))
        area["procedures"][0]["question_sets"][0]["questions"].append(
            {"key": "svc_vat_number", "type": "free_text", "personal_data": False}
        )
        path.write_text(yaml.safe_dump(area), encoding="utf-8")
        edit_texts(
            copy,
            "en",
            {
                "question.svc_vat_number.text": "What is the VAT number?",
                "question.svc_vat_number.help": "As registered.",
            },
        )
        missing = {str(m) for m in check(copy)[0]}
        assert len(missing) == 2 * (len(LANGUAGES) - 1)
        assert "de: question.svc_vat_number.text" in missing


class TestContent:
    def test_each_area_has_a_realistic_procedure_with_eight_or_more_questions(self) -> None:
        catalogue = load_catalogue()
        for area in ("professional_qualifications", "services", "posting_of_workers"):
            sizes = [len(catalogue.questions[p.key]) for p in catalogue.area(area).procedures]
            assert max(sizes) >= 8, area

    def test_every_answer_type_is_used(self) -> None:
        catalogue = load_catalogue()
        types = {q.type.value for qs in catalogue.questions.values() for q in qs.values()}
        assert types == {"yes_no", "choice", "date", "free_text", "document"}


class TestVersion:
    def test_the_version_is_the_content_hash(self, copy: Path) -> None:
        before = load_catalogue(copy).version
        assert load_catalogue(copy).version == before
        edit_texts(copy, "de", {"area.services.name": "Dienste"})
        assert load_catalogue(copy).version != before

    def test_an_explicit_version_is_kept(self, copy: Path) -> None:
        assert load_catalogue(copy, version="2026-11").version == "2026-11"

    def test_the_shipped_files_give_one_stable_version(self) -> None:
        assert load_catalogue().version == load_catalogue(CATALOGUE_DIR).version


class TestMalformedFiles:
    def test_an_unknown_answer_type_is_refused(self, copy: Path) -> None:
        path = copy / "areas" / "services.yaml"
        path.write_text(
            path.read_text(encoding="utf-8").replace("type: yes_no", "type: maybe", 1),
            encoding="utf-8",
        )
        with pytest.raises(CatalogueError, match="unknown"):
            load_catalogue(copy)

    def test_a_duplicate_question_key_is_refused(self, copy: Path) -> None:
        path = copy / "areas" / "services.yaml"
        path.write_text(
            path.read_text(encoding="utf-8").replace("svc_insurance_held", "svc_registered"),
            encoding="utf-8",
        )
        with pytest.raises(CatalogueError, match="used twice"):
            load_catalogue(copy)

    def test_broken_yaml_is_named(self, copy: Path) -> None:
        (copy / "texts" / "de.yaml").write_text("a: [unclosed\n", encoding="utf-8")
        with pytest.raises(CatalogueError, match="de.yaml"):
            load_catalogue(copy)
        assert main([str(copy)]) == 2
