"""The web client's gettext catalogues: complete in the 26 languages, current with the code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from services.gateway.web import messages
from services.gateway.web.core import LANGUAGES
from tests.gateway.web.browser_less import csrf_of, web_client
from tests.stack import Stack


def catalogue(language: str) -> dict[str, str]:
    with messages.po_path(language).open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id}


class TestCatalogues:
    def test_every_language_has_every_text_with_its_placeholders(self) -> None:
        assert messages.check() == []

    def test_there_are_26_languages(self) -> None:
        assert len(LANGUAGES) == 26
        assert all(messages.po_path(code).exists() for code in LANGUAGES if code != "en")

    def test_a_missing_translation_or_a_lost_placeholder_is_reported(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        locale = tmp_path / "locale"
        shutil.copytree(messages.LOCALE_DIR, locale)
        monkeypatch.setattr(messages, "LOCALE_DIR", locale)
        monkeypatch.setattr(messages, "TEMPLATE", locale / "messages.pot")
        german = messages.po_path("de")
        text = german.read_text(encoding="utf-8")
        text = text.replace('msgstr "Antwort annehmen"', 'msgstr ""')
        text = "\n".join(
            line.replace("%(name)s", "%(nom)s") if line.startswith("msgstr") else line
            for line in text.split("\n")
        )
        german.write_text(text, encoding="utf-8")
        (locale / "fi" / "LC_MESSAGES" / "messages.po").unlink()
        problems = messages.check()
        assert "de: 'Accept the answer' is not translated" in problems
        assert "de: 'Sign in with %(name)s' changes its placeholders" in problems
        assert any(p.startswith("fi: no catalogue") for p in problems)

    def test_a_text_new_in_the_code_is_missing_from_the_template(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        template = tmp_path / "messages.pot"
        kept = messages.TEMPLATE.read_text(encoding="utf-8").split("\n\n")
        template.write_text(
            "\n\n".join(b for b in kept if 'msgid "Skip to content"' not in b), encoding="utf-8"
        )
        monkeypatch.setattr(messages, "TEMPLATE", template)
        assert "messages.pot lacks 'Skip to content': run make messages" in messages.check()


class TestPages:
    @pytest.mark.parametrize("language", ["de", "pt", "el", "ga", "mt"])
    def test_the_login_page_speaks_the_browser_s_language(
        self, stack: Stack, language: str
    ) -> None:
        texts = catalogue(language)
        page = web_client(stack, language).get("/login")
        assert page.headers["content-language"] == language
        for english in ("Sign in", "User name", "Password", "Skip to content"):
            assert texts[english] in page.text
        assert ">Sign in<" not in page.text

    def test_a_wrong_password_is_told_in_the_reader_s_language(self, stack: Stack) -> None:
        client = web_client(stack, "pt-PT,pt;q=0.9")
        page = client.get("/login")
        done = client.post(
            "/login",
            data={"csrf_token": csrf_of(page.text), "username": "pt-officer", "password": "x"},
        )
        assert done.status_code == 401
        assert catalogue("pt")["Wrong user name or password."] in done.text
