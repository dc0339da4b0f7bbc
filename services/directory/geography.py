"""Countries of the network and their regions, read from pycountry (ISO 3166-1/-2) and babel (CLDR).

Nothing here is typed by hand except which countries form the EEA: official languages come from
CLDR, regions and their hierarchy from ISO 3166-2, country names in every language from CLDR.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pycountry
from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages

from shared.contracts.translation import LANGUAGES

# EU-27 plus Iceland, Liechtenstein and Norway (ISO 3166-1 alpha-2, lower case).
EEA_COUNTRIES: tuple[str, ...] = (
    "at", "be", "bg", "cy", "cz", "de", "dk", "ee", "es", "fi", "fr", "gr", "hr", "hu", "ie",
    "is", "it", "li", "lt", "lu", "lv", "mt", "nl", "no", "pl", "pt", "ro", "se", "si", "sk",
)  # fmt: skip
# The European Commission's own authorities; not a country of /v1/countries.
COMMISSION_COUNTRY = "eu"
# Norwegian Bokmål and Nynorsk are both "no" in the network's 26 languages.
_LANGUAGE_ALIASES = {"nb": "no", "nn": "no"}
# CLDR locale used to name things in one of the network's languages.
_CLDR_LOCALE = {"no": "nb"}


@dataclass(frozen=True)
class Region:
    code: str  # ISO 3166-2, e.g. "ES-CT"
    name: str
    type: str
    parent: str | None  # the enclosing region's code, when ISO 3166-2 nests it


@dataclass(frozen=True)
class Country:
    code: str
    languages: tuple[str, ...]  # official languages among the network's 26
    regions: tuple[Region, ...]


def is_country(code: str) -> bool:
    return code in EEA_COUNTRIES


@cache
def country(code: str) -> Country:
    """An EEA country by its lower-case code; KeyError when it is not one."""
    if code not in EEA_COUNTRIES:
        raise KeyError(code)
    upper = code.upper()
    languages: list[str] = []
    for tag in get_official_languages(upper):
        language = _LANGUAGE_ALIASES.get(tag, tag)
        if language in LANGUAGES and language not in languages:
            languages.append(language)
    subdivisions = pycountry.subdivisions.get(country_code=upper) or []
    regions = tuple(
        sorted(
            (
                Region(code=s.code, name=s.name, type=s.type, parent=s.parent_code)
                for s in subdivisions
            ),
            key=lambda r: r.code,
        )
    )
    return Country(code=code, languages=tuple(languages), regions=regions)


@cache
def _regions_by_code() -> dict[str, Region]:
    return {r.code: r for code in EEA_COUNTRIES for r in country(code).regions}


def region(code: str) -> Region | None:
    return _regions_by_code().get(code)


def normalise_region(code: str) -> str:
    """``es-ct`` → ``ES-CT`` (ISO 3166-2 codes are upper case)."""
    return code.strip().upper()


def region_country(code: str) -> str | None:
    found = region(code)
    return found.code.split("-", 1)[0].lower() if found else None


@cache
def region_path(code: str) -> tuple[str, ...]:
    """The region and every region enclosing it, innermost first."""
    path: list[str] = []
    current = region(code)
    while current is not None and current.code not in path:
        path.append(current.code)
        current = region(current.parent) if current.parent else None
    return tuple(path)


@cache
def _children() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for r in _regions_by_code().values():
        if r.parent:
            found.setdefault(r.parent, []).append(r.code)
    return {parent: tuple(sorted(codes)) for parent, codes in found.items()}


@cache
def region_family(code: str) -> tuple[str, ...]:
    """The region, the regions enclosing it and the regions inside it: every region an authority
    may sit in and still be competent there."""
    family = set(region_path(code))
    pending = [code]
    while pending:
        for child in _children().get(pending.pop(), ()):
            if child not in family:
                family.add(child)
                pending.append(child)
    return tuple(sorted(family))


@cache
def _locale(language: str) -> Locale | None:
    try:
        return Locale.parse(_CLDR_LOCALE.get(language, language))
    except (UnknownLocaleError, ValueError):
        return None


@cache
def country_name(code: str, language: str) -> str:
    """The country's name in ``language`` (CLDR), else in English."""
    if code == COMMISSION_COUNTRY:
        return "European Union"
    upper = code.upper()
    for candidate in (language, "en"):
        locale = _locale(candidate)
        if locale is not None:
            name = locale.territories.get(upper)
            if name:
                return str(name)
    found = pycountry.countries.get(alpha_2=upper)
    return str(found.name) if found else upper


def region_name(code: str | None) -> str | None:
    if code is None:
        return None
    found = region(code)
    return found.name if found else None


@cache
def subregions(code: str) -> tuple[str, ...]:
    """The region and every region inside it."""
    found = [code]
    pending = [code]
    while pending:
        for child in _children().get(pending.pop(), ()):
            if child not in found:
                found.append(child)
                pending.append(child)
    return tuple(found)


class Geography:
    """The places the directory's rules ask about (``domain.Places``), from ISO 3166."""

    def is_country(self, code: str) -> bool:
        return is_country(code)

    def region_country(self, code: str) -> str | None:
        return region_country(code)

    def region_path(self, code: str) -> tuple[str, ...]:
        return region_path(code)

    def subregions(self, code: str) -> tuple[str, ...]:
        return subregions(code)


PLACES = Geography()
