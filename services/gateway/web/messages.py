"""The web client's gettext catalogues: extract the texts, update the languages, check them.

``python -m services.gateway.web.messages extract`` writes ``locale/messages.pot`` from the
templates and the page modules; ``update`` brings every ``locale/<lang>/LC_MESSAGES/messages.po``
in line with it (new texts empty, gone texts dropped); ``check`` fails (exit 1) when the template
is behind the code or a language lacks a text or changes its placeholders. ``make test`` runs the
check through the test suite, so an untranslated text fails the build.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from services.gateway.web.core import HERE, LANGUAGES, LOCALE_DIR

ROOT = HERE.parents[2]
TEMPLATE = LOCALE_DIR / "messages.pot"
KEYWORDS = {
    "_": None,
    "_gettext": None,
    "N_": None,
    "ngettext": (1, 2),
    "_ngettext": (1, 2),
}
METHODS = [
    ("services/gateway/web/**.py", "python"),
    ("services/gateway/web/templates/**.html", "jinja2"),
]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")


def extracted() -> Catalog:
    """The texts of the code as it is now."""
    catalog = Catalog(project="IMI", fuzzy=False)
    found = extract_from_dir(
        str(ROOT),
        method_map=METHODS,
        keywords=KEYWORDS,
        comment_tags=(),
        strip_comment_tags=True,
    )
    for _filename, _lineno, message, _comments, context in found:
        catalog.add(message, context=context)
    return catalog


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, omit_header=True, no_location=True, sort_output=True, width=100)


def _ids(catalog: Iterable[object]) -> set[str]:
    return {m.id for m in catalog if isinstance(m.id, str) and m.id}  # type: ignore[attr-defined]


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def extract() -> int:
    catalog = extracted()
    _write(TEMPLATE, catalog)
    return len(_ids(catalog))


def update(translations: dict[str, dict[str, str]] | None = None) -> None:
    """Every language in line with the template; ``translations`` fills texts per language."""
    template = _read(TEMPLATE)
    for language in LANGUAGES:
        if language == "en":
            continue
        path = po_path(language)
        old = _read(path, language) if path.exists() else Catalog(locale=language)
        given = (translations or {}).get(language, {})
        fresh = Catalog(locale="nb" if language == "no" else language, project="IMI")
        for message in template:
            if not isinstance(message.id, str) or not message.id:
                continue
            kept = old.get(message.id)
            text = given.get(message.id) or (kept.string if kept is not None else "")
            fresh.add(message.id, string=text)
        _write(path, fresh)


def check() -> list[str]:
    """What is wrong with the catalogues; empty when they are complete and current."""
    problems: list[str] = []
    if not TEMPLATE.exists():
        return [f"{_shown(TEMPLATE)} is missing: run make messages"]
    expected = _ids(_read(TEMPLATE))
    in_code = _ids(extracted())
    for text in sorted(in_code - expected):
        problems.append(f"messages.pot lacks {text!r}: run make messages")
    for text in sorted(expected - in_code):
        problems.append(f"messages.pot still has {text!r}, gone from the code: run make messages")
    for language in LANGUAGES:
        if language == "en":
            continue
        path = po_path(language)
        if not path.exists():
            problems.append(f"{language}: no catalogue at {_shown(path)}")
            continue
        catalog = _read(path, language)
        for text in sorted(expected):
            message = catalog.get(text)
            string = message.string if message is not None else ""
            if not string or not isinstance(string, str) or not string.strip():
                problems.append(f"{language}: {text!r} is not translated")
            elif sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(string)):
                problems.append(f"{language}: {text!r} changes its placeholders")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.gateway.web.messages")
    parser.add_argument("command", choices=("extract", "update", "check"))
    args = parser.parse_args(argv)
    if args.command == "extract":
        sys.stdout.write(f"{extract()} texts in {TEMPLATE.relative_to(ROOT)}\n")
        update()
        return 0
    if args.command == "update":
        update()
        return 0
    problems = check()
    for problem in problems:
        sys.stderr.write(problem + "\n")
    sys.stdout.write(f"{len(problems)} problems in the web client's catalogues\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
