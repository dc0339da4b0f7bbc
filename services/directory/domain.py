"""Pure rules of the directory: no I/O, no SQLAlchemy.

- what a valid authority and a valid user are (names, languages, places, contact, competences);
- the authority lifecycle (registered → validated → active → deactivated, and back to active);
- who may do what: coordinators' scopes, local data administrators, the Commission, role grants;
- cross-lingual search: mapping a query in any of the 26 languages to the catalogue's competence
  keys, ranking weights, cursors, and the matched competences shown in the reader's language;
- the CSV import of authorities, row by row;
- the history of a change (before/after of each changed field).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import csv
import hashlib
import io
import json
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from shared.contracts.directory import (
    AuthorityLevel,
    AuthoritySnapshot,
    AuthorityStatus,
    Competence,
    PostalAddress,
    UserSnapshot,
)
from shared.identity import Identity, Role, RoleName
from shared.languages import language_tag
from shared.problems import Conflict, DomainError, Forbidden, InvalidInput, StaleVersion

ENGLISH = "en"
COMMISSION_COUNTRY = "eu"

MAX_NAME = 300
MAX_DESCRIPTION = 4000
MAX_QUERY = 200
MAX_QUERY_WORDS = 8
MAX_COMPETENCES = 50
MAX_KEYS_PER_COMPETENCE = 200
MIN_PASSWORD = 8
MAX_PASSWORD = 256
DEFAULT_PAGE = 20
MAX_PAGE = 100


class PreconditionRequired(DomainError):
    """A state transition or change sent without ``If-Match``."""

    status = 428
    slug = "precondition-required"
    title = "Send If-Match with the version you read"


class CatalogueUnavailable(DomainError):
    """No catalogue has reached the directory yet, so competences cannot be checked."""

    status = 503
    slug = "catalogue-unavailable"
    title = "The catalogue has not been received yet"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def invalid(errors: Sequence[FieldError]) -> InvalidInput:
    """One 422 naming every failing field (the first in the detail)."""
    first = errors[0]
    detail = first.message if len(errors) == 1 else f"{first.message} (and {len(errors) - 1} more)"
    return InvalidInput(detail, field=first.field, errors=[e.as_dict() for e in errors])


# --- languages -------------------------------------------------------------------------------


def in_language(
    texts: Mapping[str, str], language: str, name_language: str
) -> tuple[str, str] | None:
    """(text, its language) in the reader's language, else English, else the name's language,
    else any; None when there is no text at all."""
    for candidate in (language, ENGLISH, name_language):
        text = texts.get(candidate)
        if text:
            return text, candidate
    for candidate in sorted(texts):
        if texts[candidate]:
            return texts[candidate], candidate
    return None


# --- folding ---------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case- and accent-insensitive form (``Ärztin`` → ``arztin``, ``Εκπαιδευτικός`` →
    ``εκπαιδευτικοσ``); hyphens and punctuation become spaces."""
    # Compatibility forms (ⅅ, ﬁ) decompose before case folding, and folding may produce
    # characters that decompose again (İ → i + dot above).
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+|_", " ", stripped).split())


def query_words(text: str) -> list[str]:
    """The words of a query for full-text search: letters and digits only, at most eight."""
    return [w for w in re.findall(r"[^\W_]+", text.casefold())][:MAX_QUERY_WORDS]


# --- places ----------------------------------------------------------------------------------


class Places(Protocol):
    """What the rules need to know of countries and ISO 3166-2 regions."""

    def is_country(self, code: str) -> bool: ...

    def region_country(self, code: str) -> str | None: ...

    def region_path(self, code: str) -> tuple[str, ...]: ...

    def subregions(self, code: str) -> tuple[str, ...]: ...


def normalise_country(value: str) -> str:
    return value.strip().lower()


def normalise_region(value: str) -> str:
    return value.strip().upper()


def check_country(value: str, places: Places, field: str, *, allow_commission: bool) -> str:
    code = normalise_country(value)
    if code == COMMISSION_COUNTRY and allow_commission:
        return code
    if not places.is_country(code):
        raise InvalidInput(
            f"unknown country {value!r}; expected the ISO 3166-1 code of an EEA country",
            field=field,
        )
    return code


def check_region(value: str, country: str, places: Places, field: str) -> str:
    code = normalise_region(value)
    found = places.region_country(code)
    if found is None:
        raise InvalidInput(f"unknown region {value!r}; expected an ISO 3166-2 code", field=field)
    if found != country:
        raise InvalidInput(f"region {code} is not in country {country!r}", field=field)
    return code


# --- the catalogue as the directory knows it ------------------------------------------------


class TermKind(StrEnum):
    KEYWORD = "keyword"
    PROCEDURE = "procedure"
    AREA = "area"


@dataclass(frozen=True)
class TermEntry:
    kind: TermKind
    key: str
    language: str
    term: str
    folded: str


@dataclass(frozen=True)
class TermMatch:
    entry: TermEntry
    exact: bool


class TermIndex:
    """Every keyword term, procedure name and area name of one catalogue version, folded, with a
    sorted word list so a prefix (``profess``, ``lehr``) is found by bisection."""

    def __init__(self, entries: Iterable[TermEntry]) -> None:
        self.entries: tuple[TermEntry, ...] = tuple(entries)
        self._exact: dict[str, list[int]] = {}
        words: list[tuple[str, int]] = []
        for index, entry in enumerate(self.entries):
            self._exact.setdefault(entry.folded, []).append(index)
            for word in set(entry.folded.split()):
                words.append((word, index))
        words.sort()
        self._words = [w for w, _ in words]
        self._word_entries = [i for _, i in words]

    def _candidates(self, folded: str) -> set[int]:
        first = folded.split(" ", 1)[0]
        start = bisect.bisect_left(self._words, first)
        found: set[int] = set()
        for position in range(start, len(self._words)):
            if not self._words[position].startswith(first):
                break
            found.add(self._word_entries[position])
        return found

    def find(self, folded: str, kinds: frozenset[TermKind]) -> list[TermMatch]:
        """Entries equal to ``folded``, or (three characters and more) holding it at the start
        of a word."""
        matches = [
            TermMatch(self.entries[i], True)
            for i in self._exact.get(folded, ())
            if self.entries[i].kind in kinds
        ]
        if len(folded) >= 3:
            exact = {id(m.entry) for m in matches}
            for index in sorted(self._candidates(folded)):
                entry = self.entries[index]
                if entry.kind not in kinds or id(entry) in exact:
                    continue
                if f" {folded}" in f" {entry.folded}":
                    matches.append(TermMatch(entry, False))
        return matches


@dataclass(frozen=True)
class CatalogueView:
    """One catalogue version: names and keyword terms in every language, keys by area."""

    version: str
    area_names: Mapping[str, Mapping[str, str]]
    procedure_names: Mapping[str, Mapping[str, str]]
    procedure_areas: Mapping[str, str]
    keywords: Mapping[str, Mapping[str, Sequence[str]]]  # keyword -> language -> terms
    keyword_areas: Mapping[str, str]
    index: TermIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries: list[TermEntry] = []
        for key, by_language in self.keywords.items():
            for language, terms in by_language.items():
                for term in terms:
                    if term.strip():
                        entries.append(TermEntry(TermKind.KEYWORD, key, language, term, fold(term)))
        for kind, names in (
            (TermKind.PROCEDURE, self.procedure_names),
            (TermKind.AREA, self.area_names),
        ):
            for key, by_language in names.items():
                for language, name in by_language.items():
                    if name.strip():
                        entries.append(TermEntry(kind, key, language, name, fold(name)))
        object.__setattr__(self, "index", TermIndex(entries))

    @property
    def areas(self) -> frozenset[str]:
        return frozenset(self.area_names) | frozenset(self.procedure_areas.values())

    def area_name(self, key: str, language: str) -> str:
        names = self.area_names.get(key, {})
        return names.get(language) or names.get(ENGLISH) or key

    def procedure_name(self, key: str, language: str) -> str:
        names = self.procedure_names.get(key, {})
        return names.get(language) or names.get(ENGLISH) or key

    def keyword_term(self, key: str, language: str) -> str:
        terms = self.keywords.get(key, {})
        for candidate in (language, ENGLISH):
            found = [t for t in terms.get(candidate, ()) if t.strip()]
            if found:
                return found[0]
        return key


# --- authorities: validation -----------------------------------------------------------------

EMAIL = re.compile(
    r"^(?=.{3,254}$)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$"
)
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,30}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")


def valid_email(value: str) -> bool:
    local = value.split("@", 1)[0]
    return bool(EMAIL.match(value)) and len(local) <= 64


def valid_website(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


@dataclass(frozen=True)
class AuthorityFields:
    """Everything a coordinator sets about an authority (status and version excepted)."""

    country: str
    level: AuthorityLevel
    official_name: str
    name_language: str
    region: str | None = None
    informal_titles: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    address: PostalAddress | None = None
    competences: tuple[Competence, ...] = ()
    coordinating: bool = False


CONTACT_FIELDS = frozenset(
    {"informal_titles", "descriptions", "languages", "email", "phone", "website", "address"}
)
EDITABLE_FIELDS = CONTACT_FIELDS | {
    "official_name",
    "name_language",
    "region",
    "level",
    "competences",
}
FIXED_FIELDS = frozenset({"country", "coordinating"})


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())
    return cleaned or None


def _texts_by_language(
    texts: Mapping[str, str], limit: int, field: str, errors: list[FieldError]
) -> dict[str, str]:
    clean: dict[str, str] = {}
    for tag, text in texts.items():
        language = language_tag(tag)
        if language is None:
            errors.append(FieldError(f"{field}.{tag}", f"unknown language tag {tag!r}"))
            continue
        value = (text or "").strip()
        if not value:
            continue  # an empty text removes the language
        if len(value) > limit:
            errors.append(FieldError(f"{field}.{tag}", f"at most {limit} characters"))
            continue
        clean[language] = value
    return clean


def clean_authority(
    data: AuthorityFields,
    catalogue: CatalogueView,
    places: Places,
    prefix: str = "body",
    *,
    allow_commission: bool = True,
) -> AuthorityFields:
    """The authority's fields normalised, or a 422 naming every failing field."""
    errors: list[FieldError] = []

    def at(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    country = normalise_country(data.country)
    if not (country == COMMISSION_COUNTRY and allow_commission) and not places.is_country(country):
        errors.append(
            FieldError(
                at("country"),
                f"unknown country {data.country!r}; expected the ISO 3166-1 code of an EEA country",
            )
        )
    region: str | None = None
    region_given = data.region is not None and bool(data.region.strip())
    if data.region is not None and region_given:
        region = normalise_region(data.region)
        owner = places.region_country(region)
        if owner is None:
            errors.append(
                FieldError(at("region"), f"unknown region {data.region!r}; expected ISO 3166-2")
            )
        elif owner != country:
            errors.append(FieldError(at("region"), f"region {region} is not in country {country}"))
    try:
        level = AuthorityLevel(data.level)
    except ValueError:
        errors.append(FieldError(at("level"), "expected national, regional or local"))
        level = AuthorityLevel.NATIONAL
    if level is not AuthorityLevel.NATIONAL and not region_given:
        errors.append(FieldError(at("region"), f"a {level.value} authority needs its region"))
    if data.coordinating and level is not AuthorityLevel.NATIONAL:
        errors.append(FieldError(at("level"), "the coordinating authority is a national one"))
    name = _text(data.official_name)
    if name is None:
        errors.append(FieldError(at("official_name"), "the official name is empty"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError(at("official_name"), f"at most {MAX_NAME} characters"))
    name_language = language_tag(data.name_language)
    if name_language is None:
        errors.append(
            FieldError(at("name_language"), f"unknown language tag {data.name_language!r}")
        )
    titles = _texts_by_language(data.informal_titles, MAX_NAME, at("informal_titles"), errors)
    titles = {k: " ".join(v.split()) for k, v in titles.items()}
    descriptions = _texts_by_language(
        data.descriptions, MAX_DESCRIPTION, at("descriptions"), errors
    )
    languages: list[str] = []
    for i, tag in enumerate(data.languages):
        found = language_tag(tag)
        if found is None:
            errors.append(FieldError(at(f"languages[{i}]"), f"unknown language tag {tag!r}"))
        elif found not in languages:
            languages.append(found)
    email = _text(data.email)
    if email is not None and not valid_email(email):
        errors.append(FieldError(at("email"), f"{email!r} is not an e-mail address"))
    phone = _text(data.phone)
    if phone is not None and not PHONE.match(phone):
        errors.append(FieldError(at("phone"), "expected a telephone number such as +49 30 1234567"))
    website = _text(data.website)
    if website is not None and (len(website) > 500 or not valid_website(website)):
        errors.append(FieldError(at("website"), "expected an http(s) address"))
    address = None
    if data.address is not None:
        parts = {
            "street": _text(data.address.street),
            "postal_code": _text(data.address.postal_code),
            "city": _text(data.address.city),
        }
        for key, value in parts.items():
            if value is not None and len(value) > 200:
                errors.append(FieldError(at(f"address.{key}"), "at most 200 characters"))
        address = PostalAddress(**parts) if any(parts.values()) else None
    competences = _clean_competences(
        data.competences, catalogue, places, country, at("competences"), errors
    )
    if errors:
        raise invalid(errors)
    assert name is not None
    assert name_language is not None
    return AuthorityFields(
        country=country,
        level=level,
        official_name=name,
        name_language=name_language,
        region=region,
        informal_titles=titles,
        descriptions=descriptions,
        languages=tuple(languages) or (name_language,),
        email=email,
        phone=phone,
        website=website,
        address=address,
        competences=competences,
        coordinating=data.coordinating,
    )


def _clean_competences(
    competences: Sequence[Competence],
    catalogue: CatalogueView,
    places: Places,
    country: str,
    field: str,
    errors: list[FieldError],
) -> tuple[Competence, ...]:
    if len(competences) > MAX_COMPETENCES:
        errors.append(FieldError(field, f"at most {MAX_COMPETENCES} competences"))
        return ()
    cleaned: list[Competence] = []
    seen: set[str] = set()
    for i, competence in enumerate(competences):
        at = f"{field}[{i}]"
        area = competence.area
        if area not in catalogue.areas:
            errors.append(FieldError(f"{at}.area", f"unknown legislative area {area!r}"))
            continue
        if area in seen:
            errors.append(FieldError(f"{at}.area", f"area {area!r} is listed twice"))
            continue
        seen.add(area)
        for name, keys in (
            ("procedures", competence.procedures),
            ("keywords", competence.keywords),
        ):
            if len(keys) > MAX_KEYS_PER_COMPETENCE:
                errors.append(FieldError(f"{at}.{name}", f"at most {MAX_KEYS_PER_COMPETENCE}"))
        for j, key in enumerate(competence.procedures):
            owner = catalogue.procedure_areas.get(key)
            if owner is None:
                errors.append(FieldError(f"{at}.procedures[{j}]", f"unknown procedure {key!r}"))
            elif owner != area:
                errors.append(
                    FieldError(f"{at}.procedures[{j}]", f"procedure {key!r} belongs to {owner!r}")
                )
        for j, key in enumerate(competence.keywords):
            owner = catalogue.keyword_areas.get(key)
            if owner is None:
                errors.append(FieldError(f"{at}.keywords[{j}]", f"unknown keyword {key!r}"))
            elif owner != area:
                errors.append(
                    FieldError(f"{at}.keywords[{j}]", f"keyword {key!r} belongs to {owner!r}")
                )
        regions: list[str] = []
        for j, raw in enumerate(competence.regions):
            code = normalise_region(raw)
            if places.region_country(code) != country:
                errors.append(
                    FieldError(f"{at}.regions[{j}]", f"{raw!r} is not a region of {country}")
                )
            elif code not in regions:
                regions.append(code)
        cleaned.append(
            Competence(
                area=area,
                procedures=tuple(dict.fromkeys(competence.procedures)),
                keywords=tuple(dict.fromkeys(competence.keywords)),
                regions=tuple(regions),
            )
        )
    return tuple(cleaned)


def name_key(official_name: str) -> str:
    """Two registrations in one country whose names fold alike are the same authority."""
    return fold(official_name)


def fields_of(snapshot: AuthoritySnapshot) -> AuthorityFields:
    return AuthorityFields(
        country=snapshot.country,
        level=snapshot.level,
        official_name=snapshot.official_name,
        name_language=snapshot.name_language,
        region=snapshot.region,
        informal_titles=dict(snapshot.informal_titles),
        descriptions=dict(snapshot.descriptions),
        languages=snapshot.languages,
        email=snapshot.email,
        phone=snapshot.phone,
        website=snapshot.website,
        address=snapshot.address,
        competences=snapshot.competences,
        coordinating=snapshot.coordinating,
    )


def with_changes(
    current: AuthorityFields, changes: Mapping[str, Any], prefix: str
) -> AuthorityFields:
    """``current`` with the fields of a PATCH applied; country and coordinating never change."""
    for name in changes:
        if name in FIXED_FIELDS:
            raise InvalidInput(f"{name} cannot be changed", field=f"{prefix}.{name}")
        if name not in EDITABLE_FIELDS:
            raise InvalidInput(f"unknown field {name!r}", field=f"{prefix}.{name}")
    values: dict[str, Any] = {
        "country": current.country,
        "level": current.level,
        "official_name": current.official_name,
        "name_language": current.name_language,
        "region": current.region,
        "informal_titles": current.informal_titles,
        "descriptions": current.descriptions,
        "languages": current.languages,
        "email": current.email,
        "phone": current.phone,
        "website": current.website,
        "address": current.address,
        "competences": current.competences,
        "coordinating": current.coordinating,
    }
    for name, value in changes.items():
        if name in ("official_name", "name_language", "level") and value is None:
            raise InvalidInput(f"{name} cannot be empty", field=f"{prefix}.{name}")
        if name in ("informal_titles", "descriptions") and value is None:
            value = {}
        if name in ("languages", "competences") and value is None:
            value = ()
        values[name] = value
    return AuthorityFields(**values)


def covered_regions(fields: AuthorityFields) -> tuple[str, ...]:
    """The regions an authority is competent for; empty means its whole country."""
    found: list[str] = [fields.region] if fields.region else []
    for competence in fields.competences:
        found += [r for r in competence.regions if r not in found]
    return tuple(found)


# --- history ---------------------------------------------------------------------------------

HISTORY_HIDDEN = frozenset({"version", "updated_at", "registered_at", "status"})


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """{field: {"before": x, "after": y}} for each field whose JSON value differs."""
    changes: dict[str, Any] = {}
    for name in sorted(set(before) | set(after)):
        if name in HISTORY_HIDDEN:
            continue
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = {"before": old, "after": new}
    return changes


# --- lifecycle -------------------------------------------------------------------------------


class Transition(StrEnum):
    VALIDATE = "validate"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"


TRANSITIONS: Mapping[Transition, tuple[frozenset[AuthorityStatus], AuthorityStatus]] = {
    Transition.VALIDATE: (frozenset({AuthorityStatus.REGISTERED}), AuthorityStatus.VALIDATED),
    # An authority taken out of the network may be brought back.
    Transition.ACTIVATE: (
        frozenset({AuthorityStatus.VALIDATED, AuthorityStatus.DEACTIVATED}),
        AuthorityStatus.ACTIVE,
    ),
    Transition.DEACTIVATE: (
        frozenset({AuthorityStatus.REGISTERED, AuthorityStatus.VALIDATED, AuthorityStatus.ACTIVE}),
        AuthorityStatus.DEACTIVATED,
    ),
}


def transitions_from(status: AuthorityStatus) -> list[Transition]:
    return [t for t, (sources, _) in TRANSITIONS.items() if status in sources]


def next_status(status: AuthorityStatus, transition: Transition) -> AuthorityStatus:
    """The status after ``transition``, or 409 listing what is possible from ``status``."""
    sources, target = TRANSITIONS[transition]
    if status not in sources:
        allowed = [t.value for t in transitions_from(status)]
        raise Conflict(
            f"an authority that is {status.value} cannot be {transition.value}d; "
            f"possible: {', '.join(allowed) or 'nothing'}",
            extra={"allowed_actions": allowed, "current_status": status.value},
        )
    return target


def check_version(if_match: str | None, version: int) -> None:
    """If-Match must name the current version: 428 when absent, 412 when stale."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            f'send If-Match: "{version}" (the version you read)', field="header.If-Match"
        )
    wanted = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if "*" in wanted:
        return
    if str(version) not in wanted:
        raise StaleVersion(
            f"the resource is at version {version}; read it again",
            field="header.If-Match",
            extra={"current_version": version},
        )


def etag(version: int) -> str:
    return f'"{version}"'


# --- who may do what -------------------------------------------------------------------------


class AuthorityAction(StrEnum):
    VIEW = "view"  # see it while not active, its history and its users
    UPDATE = "update"
    UPDATE_CONTACT = "update_contact"  # titles, descriptions, languages, contact, address
    VALIDATE = "validate"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    MANAGE_USERS = "manage_users"


ALL_ACTIONS = frozenset(AuthorityAction)
COORDINATOR_ROLES = frozenset(
    {RoleName.NATIONAL_COORDINATOR, RoleName.DELEGATED_COORDINATOR, RoleName.COMMISSION}
)


@dataclass(frozen=True)
class ActorScope:
    """What an identity's roles reach, gathered once per call."""

    user_id: uuid.UUID
    authority_id: uuid.UUID | None
    country: str | None
    commission: bool
    national: bool
    delegated_areas: frozenset[str]
    delegated_regions: frozenset[str]
    local_admin: bool

    @classmethod
    def of(cls, identity: Identity) -> ActorScope:
        names = identity.role_names
        return cls(
            user_id=identity.user_id,
            authority_id=identity.authority_id,
            country=identity.country,
            commission=RoleName.COMMISSION in names,
            national=RoleName.NATIONAL_COORDINATOR in names and identity.country is not None,
            delegated_areas=frozenset(
                r.area
                for r in identity.roles
                if r.name == RoleName.DELEGATED_COORDINATOR and r.area
            ),
            delegated_regions=frozenset(
                r.region
                for r in identity.roles
                if r.name == RoleName.DELEGATED_COORDINATOR and r.region
            ),
            local_admin=RoleName.LOCAL_DATA_ADMINISTRATOR in names,
        )

    @property
    def coordinator(self) -> bool:
        return (
            self.commission or self.national or bool(self.delegated_areas or self.delegated_regions)
        )


@dataclass(frozen=True)
class AuthorityScope:
    """What the scope rules look at in an authority."""

    id: uuid.UUID | None
    country: str
    region_path: tuple[str, ...]  # its region and the regions enclosing it
    areas: frozenset[str]
    coordinating: bool

    @classmethod
    def of(cls, authority: AuthoritySnapshot | AuthorityFields, places: Places) -> AuthorityScope:
        return cls(
            id=authority.id if isinstance(authority, AuthoritySnapshot) else None,
            country=authority.country,
            region_path=places.region_path(authority.region) if authority.region else (),
            areas=frozenset(c.area for c in authority.competences),
            coordinating=authority.coordinating,
        )


def _delegated_by_region(actor: ActorScope, authority: AuthorityScope) -> bool:
    return bool(actor.delegated_regions.intersection(authority.region_path))


def _delegated_by_area(actor: ActorScope, authority: AuthorityScope) -> bool:
    return bool(actor.delegated_areas.intersection(authority.areas))


def coordinates(actor: ActorScope, authority: AuthorityScope) -> bool:
    """The actor is a coordinator whose scope holds this (non-coordinating) authority."""
    if authority.coordinating or authority.country == COMMISSION_COUNTRY:
        return actor.commission
    if actor.country != authority.country:
        return False
    return (
        actor.national
        or _delegated_by_region(actor, authority)
        or _delegated_by_area(actor, authority)
    )


def authority_permissions(
    actor: ActorScope, authority: AuthorityScope
) -> frozenset[AuthorityAction]:
    """Everything the actor may do to the authority (lifecycle state aside)."""
    allowed: set[AuthorityAction] = set()
    if coordinates(actor, authority):
        allowed |= ALL_ACTIONS
    if actor.commission:
        allowed.add(AuthorityAction.VIEW)  # the Commission oversees the whole network
    own = actor.authority_id is not None and actor.authority_id == authority.id
    if authority.coordinating and actor.national and actor.country == authority.country:
        # The national coordinator keeps its own authority's data and users; the Commission
        # alone validates, activates and deactivates a country's coordinating authority.
        allowed |= {
            AuthorityAction.VIEW,
            AuthorityAction.UPDATE,
            AuthorityAction.UPDATE_CONTACT,
            AuthorityAction.MANAGE_USERS,
        }
    if own:
        allowed.add(AuthorityAction.VIEW)
        if actor.local_admin:
            allowed |= {
                AuthorityAction.UPDATE_CONTACT,
                AuthorityAction.MANAGE_USERS,
                AuthorityAction.ACTIVATE,
            }
    return frozenset(allowed)


def may_see(actor: ActorScope, authority: AuthoritySnapshot, places: Places) -> bool:
    """Every active authority is public to the network; others only to those who handle them."""
    if authority.status is AuthorityStatus.ACTIVE:
        return True
    return AuthorityAction.VIEW in authority_permissions(
        actor, AuthorityScope.of(authority, places)
    )


def may_see_users(actor: ActorScope, authority: AuthoritySnapshot, places: Places) -> bool:
    return AuthorityAction.VIEW in authority_permissions(
        actor, AuthorityScope.of(authority, places)
    )


def allowed_actions(actor: ActorScope, authority: AuthoritySnapshot, places: Places) -> list[str]:
    """What the caller may do now: the web client shows exactly these."""
    permissions = authority_permissions(actor, AuthorityScope.of(authority, places))
    found: list[str] = []
    if authority.status is not AuthorityStatus.DEACTIVATED:
        if AuthorityAction.UPDATE in permissions or AuthorityAction.UPDATE_CONTACT in permissions:
            found.append("update")
        if AuthorityAction.MANAGE_USERS in permissions:
            found.append("register_user")
    for transition in transitions_from(authority.status):
        try:
            check_transition(actor, authority, transition, places)
        except DomainError:
            continue
        found.append(transition.value)
    return found


def check_register(actor: ActorScope, fields: AuthorityFields, places: Places) -> None:
    """A coordinator registers authorities only inside their scope; 403 naming the field."""
    if not actor.coordinator:
        raise Forbidden("only IMI coordinators register authorities")
    if fields.country == COMMISSION_COUNTRY or fields.coordinating:
        if actor.commission:
            return
        what = (
            "a national coordinating authority"
            if fields.coordinating
            else "an authority of the European Commission"
        )
        raise Forbidden(
            f"only the Commission registers {what}",
            field="body.coordinating" if fields.coordinating else "body.country",
        )
    if actor.country != fields.country:
        if actor.commission and not (actor.national or actor.delegated_areas):
            raise Forbidden(
                "the Commission registers only a country's national coordinating authority",
                field="body.coordinating",
            )
        raise Forbidden(
            f"you may register authorities only in your own country ({actor.country})",
            field="body.country",
        )
    if actor.national:
        return
    scope = AuthorityScope.of(fields, places)
    if _delegated_by_region(actor, scope):
        return
    if actor.delegated_areas and fields.competences:
        outside = [
            i for i, c in enumerate(fields.competences) if c.area not in actor.delegated_areas
        ]
        if not outside:
            return
        raise Forbidden(
            f"your delegation covers {', '.join(sorted(actor.delegated_areas))} only",
            field=f"body.competences[{outside[0]}].area",
        )
    if actor.delegated_areas:
        raise Forbidden(
            "name the competences of the authority inside your delegation",
            field="body.competences",
        )
    raise Forbidden(
        f"your delegation covers the region(s) {', '.join(sorted(actor.delegated_regions))} only",
        field="body.region",
    )


def check_update(
    actor: ActorScope,
    before: AuthoritySnapshot,
    after: AuthorityFields,
    changed: Iterable[str],
    places: Places,
) -> None:
    """403 naming the first field the actor may not change (the authority is visible)."""
    if before.status is AuthorityStatus.DEACTIVATED:
        raise Conflict("a deactivated authority is not changed; activate it first")
    changed = sorted(changed)
    scope = AuthorityScope.of(before, places)
    permissions = authority_permissions(actor, scope)
    if AuthorityAction.UPDATE not in permissions:
        if AuthorityAction.UPDATE_CONTACT not in permissions:
            raise Forbidden("you may not change this authority")
        beyond = [name for name in changed if name not in CONTACT_FIELDS]
        if beyond:
            raise Forbidden(
                "a local data administrator changes only titles, descriptions and contact data",
                field=f"body.{beyond[0]}",
            )
        return
    if actor.commission and (before.coordinating or before.country == COMMISSION_COUNTRY):
        return
    if actor.national and actor.country == before.country:
        return
    after_scope = AuthorityScope.of(after, places)
    if _delegated_by_region(actor, scope):
        if _delegated_by_region(actor, after_scope):
            return
        if not actor.delegated_areas:
            raise Forbidden("the new region is outside your delegation", field="body.region")
    # Delegated for areas: each competence added, removed or changed lies in those areas.
    old = {c.area: c for c in before.competences}
    new = {c.area: c for c in after.competences}
    touched = [area for area in sorted(set(old) | set(new)) if old.get(area) != new.get(area)]
    outside = [area for area in touched if area not in actor.delegated_areas]
    if outside:
        index = next((i for i, c in enumerate(after.competences) if c.area == outside[0]), None)
        raise Forbidden(
            f"competences in {outside[0]!r} are outside your delegation",
            field=f"body.competences[{index}]" if index is not None else "body.competences",
        )
    if not _delegated_by_area(actor, after_scope):
        raise Forbidden("the authority would leave your delegation", field="body.competences")


def check_transition(
    actor: ActorScope, authority: AuthoritySnapshot, transition: Transition, places: Places
) -> AuthorityStatus:
    """The status after the transition; 403 without the right, 409 in the wrong state."""
    scope = AuthorityScope.of(authority, places)
    if AuthorityAction(transition.value) not in authority_permissions(actor, scope):
        raise Forbidden(f"you may not {transition.value} this authority")
    if not coordinates(actor, scope) and (
        transition is not Transition.ACTIVATE or authority.status is AuthorityStatus.DEACTIVATED
    ):
        # A local data administrator takes up its validated authority; bringing a deactivated
        # one back is for its coordinators.
        raise Forbidden(f"only a coordinator may {transition.value} this authority")
    return next_status(authority.status, transition)


@dataclass(frozen=True)
class Visibility:
    """Which non-active authorities an actor sees, as plain predicates the repository turns
    into SQL: any of them suffices."""

    everything: bool = False
    countries: frozenset[str] = frozenset()
    country_areas: tuple[tuple[str, frozenset[str]], ...] = ()
    country_regions: tuple[tuple[str, frozenset[str]], ...] = ()  # regions within the scope
    authority_ids: frozenset[uuid.UUID] = frozenset()


def visibility(actor: ActorScope, places: Places) -> Visibility:
    if actor.commission:
        return Visibility(everything=True)
    country = actor.country
    countries: frozenset[str] = frozenset()
    areas: tuple[tuple[str, frozenset[str]], ...] = ()
    regions: tuple[tuple[str, frozenset[str]], ...] = ()
    if country is not None:
        if actor.national:
            countries = frozenset({country})
        if actor.delegated_areas:
            areas = ((country, actor.delegated_areas),)
        if actor.delegated_regions:
            within: set[str] = set()
            for code in actor.delegated_regions:
                within.update(places.subregions(code))
            regions = ((country, frozenset(within)),)
    own = frozenset({actor.authority_id}) if actor.authority_id else frozenset()
    return Visibility(
        countries=countries,
        country_areas=areas,
        country_regions=regions,
        authority_ids=own,
    )


# --- users -----------------------------------------------------------------------------------

GRANTABLE_BY_LOCAL_ADMIN = frozenset(
    {
        RoleName.REQUEST_HANDLER,
        RoleName.REQUEST_ALLOCATOR,
        RoleName.ALERT_HANDLER,
        RoleName.LOCAL_DATA_ADMINISTRATOR,
        RoleName.SUPERVISOR,
        RoleName.READ_ONLY,
    }
)
SELF_SERVICE_FIELDS = frozenset({"display_name", "email", "language", "password"})
USER_FIELDS = SELF_SERVICE_FIELDS | {"roles"}


def check_username(value: str, field: str = "body.username") -> str:
    username = value.strip().lower()
    if not USERNAME.match(username):
        raise InvalidInput(
            "a user name has 3 to 64 lower-case letters, digits, '.', '-' or '_'", field=field
        )
    return username


def check_password(value: str, field: str = "body.password") -> str:
    if len(value) < MIN_PASSWORD:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD} characters", field=field)
    if len(value) > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters", field=field)
    return value


def check_display_name(value: str, field: str = "body.display_name") -> str:
    name = _text(value)
    if name is None:
        raise InvalidInput("the display name is empty", field=field)
    if len(name) > 200:
        raise InvalidInput("at most 200 characters", field=field)
    return name


def check_email(value: str | None, field: str = "body.email") -> str | None:
    email = _text(value)
    if email is not None and not valid_email(email):
        raise InvalidInput(f"{email!r} is not an e-mail address", field=field)
    return email


def clean_roles(
    roles: Sequence[Role],
    authority: AuthoritySnapshot,
    catalogue_areas: frozenset[str],
    places: Places,
    field: str = "body.roles",
) -> tuple[Role, ...]:
    """Roles as the network understands them, or 422 naming the role's field."""
    cleaned: list[Role] = []
    known = {r.value for r in RoleName}
    for i, role in enumerate(roles):
        at = f"{field}[{i}]"
        name = role.name.strip().lower()
        if name not in known:
            raise InvalidInput(f"unknown role {role.name!r}", field=f"{at}.name")
        area = role.area or None
        region = normalise_region(role.region) if role.region else None
        if name == RoleName.GATEWAY:
            raise InvalidInput("the gateway role is not given to users", field=f"{at}.name")
        if area is not None and area not in catalogue_areas:
            raise InvalidInput(f"unknown legislative area {area!r}", field=f"{at}.area")
        if name == RoleName.COMMISSION and authority.country != COMMISSION_COUNTRY:
            raise InvalidInput(
                "the commission role belongs to users of the Commission", field=f"{at}.name"
            )
        if name == RoleName.NATIONAL_COORDINATOR and not authority.coordinating:
            raise InvalidInput(
                "national coordinators are users of the country's coordinating authority",
                field=f"{at}.name",
            )
        if name == RoleName.DELEGATED_COORDINATOR:
            if authority.country == COMMISSION_COUNTRY:
                raise InvalidInput(
                    "the Commission has no delegated coordinators", field=f"{at}.name"
                )
            if (area is None) == (region is None):
                raise InvalidInput(
                    "a delegated coordinator is limited to either an area or a region",
                    field=f"{at}.area" if area is None else f"{at}.region",
                )
            if region is not None and places.region_country(region) != authority.country:
                raise InvalidInput(
                    f"{role.region!r} is not a region of {authority.country}", field=f"{at}.region"
                )
        elif region is not None:
            raise InvalidInput(
                "only a delegated coordinator's role is limited to a region", field=f"{at}.region"
            )
        if name in (RoleName.NATIONAL_COORDINATOR, RoleName.COMMISSION) and area is not None:
            raise InvalidInput(f"the {name} role covers every area", field=f"{at}.area")
        role_out = Role(name=name, area=area, region=region)
        if role_out in cleaned:
            raise InvalidInput(f"role {name} is listed twice", field=at)
        cleaned.append(role_out)
    return tuple(cleaned)


def may_grant(
    actor: ActorScope, authority: AuthoritySnapshot, role: Role, places: Places
) -> str | None:
    """None when the actor may give (or take away) ``role`` to a user of ``authority``;
    otherwise why not."""
    scope = AuthorityScope.of(authority, places)
    permissions = authority_permissions(actor, scope)
    if AuthorityAction.MANAGE_USERS not in permissions:
        return "you may not manage the users of this authority"
    same_country = actor.country == authority.country
    national_here = actor.national and same_country
    commission_here = actor.commission and (
        authority.coordinating or authority.country == COMMISSION_COUNTRY
    )
    name = role.name
    if name == RoleName.COMMISSION:
        return None if actor.commission else "only the Commission gives the commission role"
    if name == RoleName.NATIONAL_COORDINATOR:
        if commission_here or national_here:
            return None
        return "only the Commission or the national coordinator names national coordinators"
    if name == RoleName.DATA_PROTECTION_ADMINISTRATOR:
        if commission_here or national_here:
            return None
        return "only the national coordinator names data protection administrators"
    unrestricted = commission_here or national_here or _delegated_by_region(actor, scope)
    if name == RoleName.DELEGATED_COORDINATOR:
        if national_here or commission_here:
            return None
        if role.area is not None and role.area in actor.delegated_areas and same_country:
            return None
        if (
            role.region is not None
            and same_country
            and actor.delegated_regions.intersection(places.region_path(role.region))
        ):
            return None
        return "a delegation can be passed on only within your own delegation"
    if name == RoleName.ALERT_COORDINATOR:
        if unrestricted or (same_country and _delegated_by_area(actor, scope)):
            return None
        return "alert coordinators are named by coordinators"
    if unrestricted:
        return None
    if same_country and _delegated_by_area(actor, scope) and coordinates(actor, scope):
        if role.area is not None and role.area in actor.delegated_areas:
            return None
        areas = ", ".join(sorted(actor.delegated_areas))
        return f"your delegation lets you give roles for {areas} only"
    if actor.local_admin and actor.authority_id == authority.id:
        if name not in GRANTABLE_BY_LOCAL_ADMIN:
            return f"a local data administrator does not give the {name} role"
        if role.area is not None and role.area not in scope.areas:
            return f"the authority is not competent for {role.area!r}"
        return None
    return "you may not give this role"


def check_role_changes(
    actor: ActorScope,
    authority: AuthoritySnapshot,
    before: Sequence[Role],
    after: Sequence[Role],
    places: Places,
    field: str = "body.roles",
) -> None:
    """Every role given or taken away must be one the actor may give; 403 naming it."""
    for i, role in enumerate(after):
        if role not in before:
            reason = may_grant(actor, authority, role, places)
            if reason is not None:
                raise Forbidden(reason, field=f"{field}[{i}]")
    for role in before:
        if role not in after:
            reason = may_grant(actor, authority, role, places)
            if reason is not None:
                raise Forbidden(f"{reason} (taking away {role.name})", field=field)


def check_user_registration(
    actor: ActorScope, authority: AuthoritySnapshot, roles: Sequence[Role], places: Places
) -> None:
    if authority.status is AuthorityStatus.DEACTIVATED:
        raise Conflict("a deactivated authority gets no new users")
    if AuthorityAction.MANAGE_USERS not in authority_permissions(
        actor, AuthorityScope.of(authority, places)
    ):
        raise Forbidden("you may not register users of this authority")
    check_role_changes(actor, authority, (), roles, places)


def may_see_user(
    actor: ActorScope, user: UserSnapshot, authority: AuthoritySnapshot, places: Places
) -> bool:
    return user.id == actor.user_id or may_see_users(actor, authority, places)


def check_user_update(
    actor: ActorScope,
    user: UserSnapshot,
    authority: AuthoritySnapshot,
    changed: Iterable[str],
    places: Places,
) -> None:
    """A user changes their own name, e-mail, language and password; the authority's managers
    change those and the roles."""
    if not user.active:
        raise Conflict("a deactivated user is not changed")
    changed = sorted(changed)
    manager = AuthorityAction.MANAGE_USERS in authority_permissions(
        actor, AuthorityScope.of(authority, places)
    )
    if manager:
        return
    if user.id != actor.user_id:
        raise Forbidden("you may not change this user")
    beyond = [name for name in changed if name not in SELF_SERVICE_FIELDS]
    if beyond:
        raise Forbidden(
            "you may change your name, e-mail, language and password", field=f"body.{beyond[0]}"
        )


def check_user_deactivation(
    actor: ActorScope, user: UserSnapshot, authority: AuthoritySnapshot, places: Places
) -> None:
    if not user.active:
        raise Conflict("the user is deactivated already")
    if user.id == actor.user_id:
        raise Forbidden("you may not deactivate yourself")
    if AuthorityAction.MANAGE_USERS not in authority_permissions(
        actor, AuthorityScope.of(authority, places)
    ):
        raise Forbidden("you may not deactivate this user")
    for role in user.roles:
        reason = may_grant(actor, authority, role, places)
        if reason is not None:
            raise Forbidden(f"the user holds {role.name}: {reason}")


def needs_old_password(actor: ActorScope, user: UserSnapshot) -> bool:
    """A user changing their own password proves the old one; a manager resets without it."""
    return actor.user_id == user.id


# --- search ----------------------------------------------------------------------------------


class MatchClass(IntEnum):
    """How an authority matched a query; results come class by class, best class first, and
    within a class: in the region asked for first, then the most specialised bodies (fewest
    procedures and keywords), then by name."""

    NONE = 0  # no query: a listing by name
    COMPETENCE = 1  # competent for a keyword the query names exactly
    PARTIAL = 2  # a keyword the query begins, or a procedure or area it names
    NAME = 3  # every word found in its competences or its names and titles
    TEXT = 4  # every word found in its names, titles or descriptions


MATCH_NAMES: Mapping[MatchClass, str] = {
    MatchClass.NONE: "listing",
    MatchClass.COMPETENCE: "competence",
    MatchClass.PARTIAL: "partial_competence",
    MatchClass.NAME: "name",
    MatchClass.TEXT: "description",
}


def rank_score(match: MatchClass, outside_region: int, breadth: int) -> int:
    """A number that falls along the result order (for display): the class dominates, then
    the region asked for, then specialisation."""
    if match is MatchClass.NONE:
        return 0
    return (5 - int(match)) * 1000 + (0 if outside_region else 300) + 200 // (1 + breadth)


@dataclass(frozen=True)
class SearchFilters:
    country: str | None = None
    region: str | None = None
    area: str | None = None
    procedure: str | None = None
    keyword: str | None = None
    level: AuthorityLevel | None = None
    status: AuthorityStatus | None = None


@dataclass(frozen=True)
class SearchPlan:
    """What a query means.

    The whole query may name catalogue terms (keyword terms, procedure and area names); each of
    its words must also be found somewhere, as the start of a keyword term or in the names,
    titles and descriptions (full-text search). An authority matches through either.
    """

    text: str
    language: str | None
    keyword_matches: Mapping[str, TermMatch]  # the whole query as a keyword term
    procedure_matches: Mapping[str, TermMatch]
    area_matches: Mapping[str, TermMatch]
    words: tuple[str, ...]
    word_matches: tuple[Mapping[str, TermMatch], ...] = ()  # per word, when there are several

    @property
    def keywords_exact(self) -> list[str]:
        return sorted(k for k, m in self.keyword_matches.items() if m.exact)

    @property
    def keywords_prefix(self) -> list[str]:
        return sorted(k for k, m in self.keyword_matches.items() if not m.exact)

    @property
    def has_query(self) -> bool:
        return bool(self.text)

    def word_keywords(self) -> list[list[str]]:
        """For each word of a query of several words, the keywords it names."""
        return [sorted(found) for found in self.word_matches]

    @property
    def all_keyword_matches(self) -> dict[str, TermMatch]:
        """Every keyword the query or one of its words named, best match each."""
        found: dict[str, TermMatch] = {}
        for matches in (*self.word_matches, self.keyword_matches):
            for match in matches.values():
                _best(found, match, self.language)
        return found


def _best(found: dict[str, TermMatch], match: TermMatch, language: str | None) -> None:
    previous = found.get(match.entry.key)
    rank = (match.exact, match.entry.language == language)
    if previous is None or rank > (previous.exact, previous.entry.language == language):
        found[match.entry.key] = match


def _match_terms(
    index: TermIndex, folded: str, kinds: frozenset[TermKind], language: str | None
) -> list[TermMatch]:
    """Matches of ``folded``: the query's language first (all languages when it finds nothing);
    when a term matches exactly, prefix matches only in the languages of the exact matches."""
    matches = index.find(folded, kinds)
    if language is not None:
        own = [m for m in matches if m.entry.language == language]
        if own:
            matches = own
    exact_languages = {m.entry.language for m in matches if m.exact}
    if exact_languages:
        matches = [m for m in matches if m.exact or m.entry.language in exact_languages]
    return matches


def plan_search(query: str, language: str | None, catalogue: CatalogueView | None) -> SearchPlan:
    """Map a query in any language to the catalogue's keys and to words for full-text search."""
    text = query.strip()
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"a query has at most {MAX_QUERY} characters", field="query.q")
    folded = fold(text)
    words = tuple(query_words(text))
    found: dict[TermKind, dict[str, TermMatch]] = {kind: {} for kind in TermKind}
    word_matches: list[dict[str, TermMatch]] = []
    if folded and catalogue is not None:
        for match in _match_terms(catalogue.index, folded, frozenset(TermKind), language):
            _best(found[match.entry.kind], match, language)
        if len(words) > 1:
            for word in words:
                per_word: dict[str, TermMatch] = {}
                for match in _match_terms(
                    catalogue.index, fold(word), frozenset({TermKind.KEYWORD}), language
                ):
                    _best(per_word, match, language)
                word_matches.append(per_word)
    return SearchPlan(
        text=text,
        language=language,
        keyword_matches=found[TermKind.KEYWORD],
        procedure_matches=found[TermKind.PROCEDURE],
        area_matches=found[TermKind.AREA],
        words=words,
        word_matches=tuple(word_matches),
    )


def search_fingerprint(filters: SearchFilters, plan: SearchPlan) -> str:
    """What a cursor belongs to: the same query and filters."""
    raw = json.dumps(
        [
            plan.text,
            plan.language,
            *[str(v) if v is not None else None for v in vars(filters).values()],
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def encode_cursor(position: Sequence[Any], fingerprint: str) -> str:
    raw = json.dumps({"p": list(position), "f": fingerprint}, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str, field: str = "query.cursor") -> list[Any]:
    """The position a cursor stands for; 422 when it is garbled or belongs to another query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position = data["p"]
        owner = data["f"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidInput("the cursor is not one this service gave", field=field) from exc
    if owner != fingerprint or not isinstance(position, list):
        raise InvalidInput("the cursor belongs to another query", field=field)
    return position


def page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    if limit < 1 or limit > MAX_PAGE:
        raise InvalidInput(f"limit is between 1 and {MAX_PAGE}", field="query.limit")
    return limit


def matched_competences(
    competences: Sequence[Competence],
    plan: SearchPlan,
    filters: SearchFilters,
    catalogue: CatalogueView | None,
    language: str,
) -> list[dict[str, Any]]:
    """The competences through which an authority matched, named in the reader's language."""
    found: list[dict[str, Any]] = []
    for competence in competences:
        keywords = [
            k for k in competence.keywords if k in plan.keyword_matches or k == filters.keyword
        ]
        procedures = [
            p
            for p in competence.procedures
            if p in plan.procedure_matches or p == filters.procedure
        ]
        area_hit = competence.area in plan.area_matches or competence.area == filters.area
        if not (keywords or procedures or area_hit):
            continue
        found.append(
            {
                "area": {
                    "key": competence.area,
                    "name": catalogue.area_name(competence.area, language)
                    if catalogue
                    else competence.area,
                },
                "procedures": [
                    {
                        "key": p,
                        "name": catalogue.procedure_name(p, language) if catalogue else p,
                        "matched": p in procedures,
                    }
                    for p in competence.procedures
                ],
                "keywords": [_keyword_view(k, plan, catalogue, language) for k in keywords],
                "regions": list(competence.regions),
            }
        )
    return found


def _keyword_view(
    key: str, plan: SearchPlan, catalogue: CatalogueView | None, language: str
) -> dict[str, Any]:
    match = plan.all_keyword_matches.get(key)
    return {
        "key": key,
        "term": catalogue.keyword_term(key, language) if catalogue else key,
        "matched_term": match.entry.term if match else None,
        "matched_language": match.entry.language if match else None,
    }


# --- views -----------------------------------------------------------------------------------


def competences_view(
    competences: Sequence[Competence], catalogue: CatalogueView | None, language: str
) -> list[dict[str, Any]]:
    return [
        {
            "area": {
                "key": c.area,
                "name": catalogue.area_name(c.area, language) if catalogue else c.area,
            },
            "procedures": [
                {"key": p, "name": catalogue.procedure_name(p, language) if catalogue else p}
                for p in c.procedures
            ],
            "keywords": [
                {"key": k, "term": catalogue.keyword_term(k, language) if catalogue else k}
                for k in c.keywords
            ],
            "regions": list(c.regions),
        }
        for c in competences
    ]


def localized(texts: Mapping[str, str], language: str, name_language: str) -> dict[str, str] | None:
    found = in_language(texts, language, name_language)
    return {"text": found[0], "language": found[1]} if found else None


# --- CSV import ------------------------------------------------------------------------------

CSV_REQUIRED = ("official_name", "name_language", "country", "level")
CSV_OPTIONAL = (
    "region",
    "email",
    "phone",
    "website",
    "street",
    "postal_code",
    "city",
    "languages",
    "areas",
    "procedures",
    "keywords",
)
CSV_PER_LANGUAGE = ("informal_title_", "description_")
CSV_MAX_ROWS = 10_000


@dataclass
class ImportRow:
    """One data row of an import file: its line, the authority it describes, or why not."""

    line: int
    fields: AuthorityFields | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fields is not None and not self.errors


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;|]", value) if part.strip()]


def read_import(text: str, catalogue: CatalogueView, places: Places) -> list[ImportRow]:
    """Parse an import file (UTF-8 CSV, header row, comma or semicolon separated) into one
    ImportRow per data row; a file-level problem is a 422 naming ``body``."""
    if not text.strip():
        raise InvalidInput("the file is empty", field="body")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise InvalidInput(
            f"the header lacks the column(s) {', '.join(missing)}", field="body.header"
        )
    for column in header:
        known = column in CSV_REQUIRED or column in CSV_OPTIONAL
        per_language = next((p for p in CSV_PER_LANGUAGE if column.startswith(p)), None)
        if not known and per_language is None:
            raise InvalidInput(f"unknown column {column!r}", field="body.header")
        if per_language is not None and language_tag(
            column.removeprefix(per_language)
        ) != column.removeprefix(per_language):
            raise InvalidInput(f"unknown language in column {column!r}", field="body.header")
    rows: list[ImportRow] = []
    for record in reader:
        line = reader.line_num
        if len(rows) >= CSV_MAX_ROWS:
            raise InvalidInput(f"at most {CSV_MAX_ROWS} rows per file", field="body")
        if None in record:
            rows.append(ImportRow(line, errors=[FieldError("row", "more cells than columns")]))
            continue
        values = {k: (v or "").strip() for k, v in record.items()}
        if not any(values.values()):
            continue
        rows.append(_import_row(line, values, catalogue, places))
    if not rows:
        raise InvalidInput("the file has no data rows", field="body")
    return rows


def _import_row(
    line: int, values: Mapping[str, str], catalogue: CatalogueView, places: Places
) -> ImportRow:
    errors: list[FieldError] = []
    by_area: dict[str, dict[str, list[str]]] = {}
    for area in _split_list(values.get("areas", "")):
        if area not in catalogue.areas:
            errors.append(FieldError("areas", f"unknown legislative area {area!r}"))
        by_area.setdefault(area, {"procedures": [], "keywords": []})
    for column, owners in (
        ("procedures", catalogue.procedure_areas),
        ("keywords", catalogue.keyword_areas),
    ):
        for key in _split_list(values.get(column, "")):
            owner = owners.get(key)
            if owner is None:
                errors.append(FieldError(column, f"unknown {column[:-1]} {key!r}"))
                continue
            by_area.setdefault(owner, {"procedures": [], "keywords": []})[column].append(key)
    titles = {
        k.removeprefix("informal_title_"): v
        for k, v in values.items()
        if k.startswith("informal_title_") and v
    }
    descriptions = {
        k.removeprefix("description_"): v
        for k, v in values.items()
        if k.startswith("description_") and v
    }
    address = PostalAddress(
        street=values.get("street") or None,
        postal_code=values.get("postal_code") or None,
        city=values.get("city") or None,
    )
    if errors:
        return ImportRow(line, errors=errors)
    try:
        level = AuthorityLevel(values["level"].lower())
    except ValueError:
        return ImportRow(line, errors=[FieldError("level", "expected national, regional or local")])
    draft = AuthorityFields(
        country=values["country"],
        level=level,
        official_name=values["official_name"],
        name_language=values["name_language"],
        region=values.get("region") or None,
        informal_titles=titles,
        descriptions=descriptions,
        languages=tuple(_split_list(values.get("languages", ""))),
        email=values.get("email") or None,
        phone=values.get("phone") or None,
        website=values.get("website") or None,
        address=address,
        competences=tuple(
            Competence(area=a, procedures=tuple(v["procedures"]), keywords=tuple(v["keywords"]))
            for a, v in by_area.items()
        ),
    )
    try:
        cleaned = clean_authority(draft, catalogue, places, prefix="", allow_commission=False)
    except InvalidInput as exc:
        return ImportRow(
            line,
            errors=[FieldError(_csv_column(e["field"]), e["message"]) for e in exc.errors],
        )
    return ImportRow(line, fields=cleaned)


def _csv_column(field_path: str) -> str:
    """The CSV column a validation error is about (``competences[0].keywords[1]`` → keywords)."""
    head = field_path.split(".", 1)[0]
    if head.startswith("competences"):
        tail = re.sub(r"\[\d+\]$", "", field_path.rsplit(".", 1)[-1])
        return tail if tail in ("procedures", "keywords") else "areas"
    if head.startswith("languages"):
        return "languages"
    if head in ("informal_titles", "descriptions") and "." in field_path:
        prefix = "informal_title_" if head == "informal_titles" else "description_"
        return prefix + field_path.split(".", 1)[1]
    if head == "address" and "." in field_path:
        return field_path.split(".", 1)[1]
    return head
