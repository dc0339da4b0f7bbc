"""The 26 languages of the network and how a caller's language is told from a tag or a header."""

from __future__ import annotations

from collections.abc import Mapping

from shared.contracts.translation import LANGUAGES
from shared.problems import InvalidInput

SOURCE_LANGUAGE = "en"
LANGUAGE_ALIASES: Mapping[str, str] = {"nb": "no", "nn": "no", "gle": "ga", "ice": "is"}


def language_tag(value: str | None) -> str | None:
    """Our two-letter code for a language tag (``pt-PT``, ``nb``, ``DE``), or None if unknown."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    primary = LANGUAGE_ALIASES.get(primary, primary)
    return primary if primary in LANGUAGES else None


def require_language(value: str | None, field: str) -> str:
    """The language of ``value`` or a 422 naming ``field``."""
    language = language_tag(value)
    if language is None:
        raise InvalidInput(
            f"unknown language tag {value!r}; expected one of {', '.join(LANGUAGES)}",
            field=field,
        )
    return language


def reader_language(accept_language: str | None, identity_language: str | None) -> str:
    """The first supported language of Accept-Language by weight, else the identity's, else en."""
    candidates: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and weight > 0:
            candidates.append((-weight, position, tag))
    for _, _, tag in sorted(candidates):
        language = language_tag(tag)
        if language is not None:
            return language
    return language_tag(identity_language) or SOURCE_LANGUAGE
