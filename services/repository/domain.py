"""Pure rules of the information repositories: definitions, record validation, access, CSV.

No I/O, no SQLAlchemy. A repository is defined by data (a schema of fields); everything here
works from that definition, so a new repository needs no code.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.translation import LANGUAGES
from shared.problems import InvalidInput

EEA_COUNTRIES: tuple[str, ...] = (
    "at", "be", "bg", "cy", "cz", "de", "dk", "ee", "es", "fi", "fr", "gr", "hr", "hu", "ie",
    "is", "it", "li", "lt", "lu", "lv", "mt", "nl", "no", "pl", "pt", "ro", "se", "si", "sk",
)  # fmt: skip
LIST_SEPARATOR = ";"
MAX_TEXT = 10_000
KEY_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"


class FieldType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DATE = "date"
    COUNTRY = "country"  # ISO 3166-1 alpha-2 of an EEA country, lower case
    LANGUAGES = "languages"  # a list of the network's language codes
    LIST = "list"  # a list of short texts
    TERMS = "terms"  # a list of terms of the field's vocabulary, labelled in every language


class FieldDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=KEY_PATTERN)
    type: FieldType = FieldType.TEXT
    labels: dict[str, str] = {}
    required: bool = False
    translatable: bool = False
    searchable: bool = False
    filterable: bool = False
    personal: bool = False
    # TERMS only: term key -> {language: label}; a search in any language finds the term.
    vocabulary: dict[str, dict[str, str]] = {}

    @model_validator(mode="after")
    def _coherent(self) -> FieldDefinition:
        if self.translatable and self.type is not FieldType.TEXT:
            raise ValueError(f"{self.name}: only text fields are translatable")
        if self.type is FieldType.TERMS and not self.vocabulary:
            raise ValueError(f"{self.name}: a terms field needs a vocabulary")
        if self.personal and self.searchable:
            raise ValueError(f"{self.name}: personal data is never searchable")
        unknown = {lang for labels in self.vocabulary.values() for lang in labels} - set(LANGUAGES)
        if unknown:
            raise ValueError(f"{self.name}: unknown vocabulary languages {sorted(unknown)}")
        return self


class AuthorityGroup(BaseModel):
    """A group of authorities, resolved against the directory projection: an authority belongs
    when it matches any of the criteria given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    all_authorities: bool = False
    authorities: tuple[uuid.UUID, ...] = ()
    countries: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()  # legislative areas the authority is competent in
    coordinating: bool = False  # national IMI coordinating authorities


class WriteRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: tuple[str, ...] = Field(min_length=1)
    authorities: AuthorityGroup


class ReadAccess(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    all_users: bool = False
    group: AuthorityGroup | None = None

    @model_validator(mode="after")
    def _one(self) -> ReadAccess:
        if self.all_users == (self.group is not None):
            raise ValueError("read access is either all_users or a group of authorities")
        return self


class Validity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    valid_from: str
    valid_until: str


class Definition(BaseModel):
    """The schema of one repository, as shipped under ``definitions/``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=KEY_PATTERN)
    titles: dict[str, str] = Field(min_length=1)
    descriptions: dict[str, str] = {}
    title_field: str
    validity: Validity | None = None
    read: ReadAccess
    write: tuple[WriteRule, ...] = ()
    fields: tuple[FieldDefinition, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> Definition:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError("field names must be unique")
        by_name = {f.name: f for f in self.fields}
        title = by_name.get(self.title_field)
        if title is None or title.type is not FieldType.TEXT or not title.required:
            raise ValueError("title_field must name a required text field")
        if self.validity is not None:
            for name in (self.validity.valid_from, self.validity.valid_until):
                if name not in by_name or by_name[name].type is not FieldType.DATE:
                    raise ValueError(f"validity field {name!r} must be a date field")
        return self

    def field(self, name: str) -> FieldDefinition | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def personal_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.personal)

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def title(self, language: str) -> str:
        return pick_translation(self.titles, language)[0]


def pick_translation(texts: Mapping[str, str], language: str) -> tuple[str, str]:
    """The text in ``language``, else English, else the first one given; with its language."""
    for candidate in (language, "en"):
        if candidate in texts:
            return texts[candidate], candidate
    first = next(iter(texts))
    return texts[first], first


# --- access ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A user as the directory projection knows them, with their authority."""

    user_id: uuid.UUID
    authority_id: uuid.UUID
    country: str
    roles: frozenset[str]
    areas: frozenset[str]
    coordinating: bool
    active: bool


def in_group(member: Member, group: AuthorityGroup) -> bool:
    return (
        group.all_authorities
        or member.authority_id in group.authorities
        or member.country in group.countries
        or bool(member.areas & set(group.areas))
        or (group.coordinating and member.coordinating)
    )


def may_read(definition: Definition, member: Member | None) -> bool:
    """All users read an open repository; a group's repository only its active members."""
    if definition.read.all_users:
        return True
    group = definition.read.group
    return member is not None and member.active and group is not None and in_group(member, group)


def may_write(definition: Definition, member: Member | None) -> bool:
    """Writers are named roles of named authorities, as the directory projection has them."""
    if member is None or not member.active or not may_read(definition, member):
        return False
    return any(
        member.roles & set(rule.roles) and in_group(member, rule.authorities)
        for rule in definition.write
    )


# --- records --------------------------------------------------------------------------------


@dataclass
class FieldErrors:
    """Every problem of one input, each naming its field path."""

    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.errors.append({"field": path, "message": message})

    def raise_if_any(self, detail: str) -> None:
        if self.errors:
            raise InvalidInput(detail, errors=self.errors)


def _text(value: Any, path: str, errors: FieldErrors) -> str | None:
    if not isinstance(value, str):
        errors.add(path, "must be a text")
        return None
    cleaned = value.strip()
    if not cleaned:
        errors.add(path, "must not be empty")
        return None
    if len(cleaned) > MAX_TEXT:
        errors.add(path, f"must be at most {MAX_TEXT} characters")
        return None
    return cleaned


def _value(spec: FieldDefinition, value: Any, path: str, errors: FieldErrors) -> Any:
    if spec.translatable:
        if not isinstance(value, dict) or not value:
            errors.add(path, 'must be an object of texts by language, e.g. {"en": "..."}')
            return None
        texts: dict[str, str] = {}
        for language, text in value.items():
            if language not in LANGUAGES:
                errors.add(f"{path}.{language}", f"unknown language {language!r}")
                continue
            cleaned = _text(text, f"{path}.{language}", errors)
            if cleaned is not None:
                texts[language] = cleaned
        return texts
    if spec.type is FieldType.TEXT:
        return _text(value, path, errors)
    if spec.type is FieldType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.add(path, "must be an integer")
            return None
        return value
    if spec.type is FieldType.DATE:
        try:
            return date.fromisoformat(value).isoformat() if isinstance(value, str) else _bad()
        except ValueError:
            errors.add(path, "must be a date (YYYY-MM-DD)")
            return None
    if spec.type is FieldType.COUNTRY:
        if not isinstance(value, str) or value.lower() not in EEA_COUNTRIES:
            errors.add(path, "must be the ISO code of an EEA country")
            return None
        return value.lower()
    # list-valued types
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(path, "must be a list of texts")
        return None
    items = [v.strip() for v in value if v.strip()]
    if spec.type is FieldType.LANGUAGES:
        unknown = [v for v in items if v not in LANGUAGES]
        if unknown:
            errors.add(path, f"unknown language {unknown[0]!r}")
            return None
    if spec.type is FieldType.TERMS:
        unknown = [v for v in items if v not in spec.vocabulary]
        if unknown:
            errors.add(path, f"unknown term {unknown[0]!r}; known: {', '.join(spec.vocabulary)}")
            return None
    return list(dict.fromkeys(items))


def _bad() -> str:
    raise ValueError("not a text")


def validated_fields(
    definition: Definition,
    given: Mapping[str, Any],
    *,
    current: Mapping[str, Any] | None = None,
    path: str = "fields",
) -> dict[str, Any]:
    """The record's fields after applying ``given`` to ``current`` (None: a new record).

    A field given as null is removed; the result must satisfy the whole schema.
    """
    errors = FieldErrors()
    result: dict[str, Any] = dict(current or {})
    for name, value in given.items():
        spec = definition.field(name)
        if spec is None:
            errors.add(f"{path}.{name}", f"not a field of repository {definition.key!r}")
            continue
        if value is None:
            result.pop(name, None)
            continue
        cleaned = _value(spec, value, f"{path}.{name}", errors)
        if cleaned is not None:
            result[name] = cleaned
    for spec in definition.fields:
        if spec.required and result.get(spec.name) in (None, "", [], {}):
            if not any(e["field"].startswith(f"{path}.{spec.name}") for e in errors.errors):
                errors.add(f"{path}.{spec.name}", "is required")
    if definition.validity is not None:
        start = result.get(definition.validity.valid_from)
        end = result.get(definition.validity.valid_until)
        if start and end and end < start:
            errors.add(f"{path}.{definition.validity.valid_until}", "ends before it starts")
    errors.raise_if_any(f"the record does not match the schema of {definition.key!r}")
    return result


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n)))


def record_languages(definition: Definition, values: Mapping[str, Any]) -> tuple[str, ...]:
    found: set[str] = set()
    for spec in definition.fields:
        if spec.translatable and isinstance(values.get(spec.name), dict):
            found.update(values[spec.name])
    return tuple(sorted(found))


def public_fields(definition: Definition, values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields without personal data (for lists, search results and events)."""
    personal = set(definition.personal_fields)
    return {k: v for k, v in values.items() if k not in personal}


def holds_personal_data(definition: Definition, values: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(n for n in definition.personal_fields if values.get(n) not in (None, "", []))


@dataclass(frozen=True)
class SearchTexts:
    """What the text-search document of a record is made of: texts by language (stemmed in
    that language) and texts of no language (names, numbers: matched as written)."""

    title: dict[str, str]
    by_language: dict[str, str]


def search_texts(definition: Definition, values: Mapping[str, Any]) -> SearchTexts:
    title: dict[str, str] = {}
    by_language: dict[str, list[str]] = {}

    def add(language: str, text: str) -> None:
        by_language.setdefault(language, []).append(text)

    for spec in definition.fields:
        value = values.get(spec.name)
        if value in (None, "", [], {}):
            continue
        if spec.name == definition.title_field:
            title = dict(value) if isinstance(value, dict) else {"": str(value)}
            continue
        if not spec.searchable:
            continue
        if isinstance(value, dict):
            for language, text in value.items():
                add(language, text)
        elif spec.type is FieldType.TERMS:
            for term in value:
                for language, label in spec.vocabulary[term].items():
                    add(language, label)
        elif isinstance(value, list):
            add("", " ".join(value))
        else:
            add("", str(value))
    return SearchTexts(title, {k: " ".join(v) for k, v in by_language.items()})


def sort_key(definition: Definition, values: Mapping[str, Any]) -> str:
    title = values.get(definition.title_field)
    text = pick_translation(title, "en")[0] if isinstance(title, dict) else str(title or "")
    return text.casefold()[:200]


def validity_of(definition: Definition, values: Mapping[str, Any]) -> tuple[date | None, ...]:
    if definition.validity is None:
        return (None, None)
    start = values.get(definition.validity.valid_from)
    end = values.get(definition.validity.valid_until)
    return (
        date.fromisoformat(start) if start else None,
        date.fromisoformat(end) if end else None,
    )


def rendered(definition: Definition, values: Mapping[str, Any], language: str) -> dict[str, Any]:
    """Translatable fields in the reader's language (falling back), with the language shown."""
    out: dict[str, Any] = {}
    for spec in definition.fields:
        if spec.name not in values:
            continue
        value = values[spec.name]
        if spec.translatable and isinstance(value, dict) and value:
            text, shown = pick_translation(value, language)
            out[spec.name] = {"text": text, "language": shown}
        elif spec.type is FieldType.TERMS:
            out[spec.name] = [
                {"term": t, "label": pick_translation(spec.vocabulary[t], language)[0]}
                for t in value
            ]
        else:
            out[spec.name] = value
    return out


# --- search ---------------------------------------------------------------------------------

WORD = re.compile(r"\w+(?:[-/.]\w+)*", re.UNICODE)


@dataclass(frozen=True)
class SearchQuery:
    words: tuple[str, ...]
    languages: tuple[str, ...]  # empty: every language of the network
    filters: dict[str, Any]
    valid_on: date | None
    include_retired: bool


def search_words(q: str | None) -> tuple[str, ...]:
    return tuple(WORD.findall(q or ""))[:12]


def search_query(
    definition: Definition,
    q: str | None,
    language: str,
    *,
    across_languages: bool,
    filters: Mapping[str, str],
    valid_on: date | None,
    include_retired: bool = False,
) -> SearchQuery:
    """The query in the reader's language, or across every language of the network."""
    if language not in LANGUAGES:
        raise InvalidInput(f"unknown language {language!r}", field="query.lang")
    errors = FieldErrors()
    parsed: dict[str, Any] = {}
    for name, raw in filters.items():
        spec = definition.field(name)
        if spec is None or not spec.filterable:
            errors.add(f"query.{name}", f"{name!r} is not a filter of {definition.key!r}")
            continue
        value: Any = raw
        if spec.type in (FieldType.LANGUAGES, FieldType.LIST, FieldType.TERMS):
            value = [raw]
        elif spec.type is FieldType.INTEGER:
            try:
                value = int(raw)
            except ValueError:
                errors.add(f"query.{name}", "must be an integer")
                continue
        cleaned = _value(spec, value, f"query.{name}", errors)
        if cleaned is not None:
            parsed[name] = cleaned
    if valid_on is not None and definition.validity is None:
        errors.add("query.valid_on", f"{definition.key!r} records have no validity")
    errors.raise_if_any("the search is not valid")
    return SearchQuery(
        words=search_words(q),
        languages=() if across_languages else (language,),
        filters=parsed,
        valid_on=valid_on,
        include_retired=include_retired,
    )


def encode_cursor(position: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode()


def decode_cursor(cursor: str | None, kind: str) -> tuple[Any, str] | None:
    """The (rank or sort key, record id) after which the next page starts."""
    if not cursor:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        tag, position, record_id = found
        uuid.UUID(record_id)
        if tag != kind:
            raise ValueError(tag)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("the cursor is not valid for this list", field="query.cursor") from exc
    return position, record_id


# --- CSV ------------------------------------------------------------------------------------


def csv_columns(definition: Definition, languages: Iterable[str] = LANGUAGES) -> list[str]:
    """``id`` then each field; a translatable field has one ``name:language`` column each."""
    columns = ["id"]
    wanted = list(languages)
    for spec in definition.fields:
        if spec.translatable:
            columns.extend(f"{spec.name}:{language}" for language in wanted)
        else:
            columns.append(spec.name)
    return columns


def csv_cell(spec: FieldDefinition, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(value)
    return str(value)


def write_csv(definition: Definition, rows: Iterable[tuple[uuid.UUID, Mapping[str, Any]]]) -> str:
    materialised = list(rows)
    languages = sorted({lang for _, v in materialised for lang in record_languages(definition, v)})
    columns = csv_columns(definition, languages)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record_id, values in materialised:
        line = [str(record_id)]
        for spec in definition.fields:
            value = values.get(spec.name)
            if spec.translatable:
                texts = value if isinstance(value, dict) else {}
                line.extend(texts.get(language, "") for language in languages)
            else:
                line.append(csv_cell(spec, value))
        writer.writerow(line)
    return out.getvalue()


@dataclass
class ImportRow:
    line: int
    fields: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def read_csv(definition: Definition, text: str, *, max_rows: int) -> list[ImportRow]:
    """Every data row as validated fields or as errors naming the row (file line) and column.

    Raises InvalidInput for a file whose header is wrong; row errors are left to the caller.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise InvalidInput("the file is empty; the first line names the columns", field="body")
    header = [h.strip() for h in header]
    errors = FieldErrors()
    columns: list[tuple[FieldDefinition | None, str | None]] = []
    for name in header:
        base, _, language = name.partition(":")
        spec = definition.field(base)
        if name == "id":
            columns.append((None, None))
        elif spec is None:
            errors.add(f"header.{name}", f"not a field of repository {definition.key!r}")
        elif language and not spec.translatable:
            errors.add(f"header.{name}", f"{base!r} is not translatable")
        elif language and language not in LANGUAGES:
            errors.add(f"header.{name}", f"unknown language {language!r}")
        elif spec.translatable and not language:
            errors.add(f"header.{name}", f"name the language: {base}:<language>")
        else:
            columns.append((spec, language or None))
    if len(set(header)) != len(header):
        errors.add("header", "a column appears twice")
    errors.raise_if_any("the header of the file does not match the repository's schema")
    rows: list[ImportRow] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= max_rows:
            raise InvalidInput(f"at most {max_rows} rows per import", field="body")
        row = ImportRow(line=line)
        rows.append(row)
        if len(cells) != len(header):
            row.errors.append(
                {"row": line, "field": "*", "message": f"{len(cells)} cells, not {len(header)}"}
            )
            continue
        given: dict[str, Any] = {}
        for (spec, cell_language), cell in zip(columns, cells, strict=True):
            cell = cell.strip()
            if spec is None or not cell:
                continue
            if cell_language:
                given.setdefault(spec.name, {})[cell_language] = cell
            elif spec.type in (FieldType.LANGUAGES, FieldType.LIST, FieldType.TERMS):
                given[spec.name] = [v for v in cell.split(LIST_SEPARATOR) if v.strip()]
            elif spec.type is FieldType.INTEGER:
                try:
                    given[spec.name] = int(cell)
                except ValueError:
                    given[spec.name] = cell  # refused below, naming the column
            else:
                given[spec.name] = cell
        try:
            row.fields = validated_fields(definition, given, path="")
        except InvalidInput as exc:
            row.errors.extend(
                {"row": line, "field": _column(e["field"]), "message": e["message"]}
                for e in exc.errors
            )
    return rows


def _column(path: str) -> str:
    """``.description.de`` (a validation path) as the CSV column ``description:de``."""
    parts = path.strip(".").split(".")
    return ":".join(parts)
