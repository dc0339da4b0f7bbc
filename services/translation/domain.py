"""Pure rules of the catalogue and of rendering: no I/O, no SQLAlchemy.

The catalogue is a tree (legislative area → procedure → question set → question → option) whose
texts live apart from it, per language, under flat dotted keys. A version is the hash of both, so
a request written with version V is always rendered with exactly the texts of V.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from shared.contracts.translation import LANGUAGES, AnswerType, ProcedureKind
from shared.languages import SOURCE_LANGUAGE, require_language
from shared.problems import InvalidInput

YES_NO_OPTIONS: tuple[str, ...] = ("yes", "no")


# --- languages -------------------------------------------------------------------------------


# --- the catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    key: str
    type: AnswerType
    personal_data: bool
    options: tuple[str, ...]
    question_set: str

    @property
    def option_keys(self) -> tuple[str, ...]:
        return YES_NO_OPTIONS if self.type is AnswerType.YES_NO else self.options


@dataclass(frozen=True)
class QuestionSet:
    key: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Procedure:
    key: str
    area: str
    legal_basis: str
    retention_months: int
    question_sets: tuple[QuestionSet, ...]
    kind: ProcedureKind = ProcedureKind.REQUEST

    def questions(self) -> Iterable[Question]:
        for question_set in self.question_sets:
            yield from question_set.questions


@dataclass(frozen=True)
class Area:
    key: str
    legal_basis: str
    procedures: tuple[Procedure, ...]
    keywords: tuple[str, ...]


class CatalogueError(ValueError):
    """The catalogue files do not describe a valid catalogue."""


def option_text_key(question: Question, option: str) -> str:
    if question.type is AnswerType.YES_NO:
        return f"option.{option}.text"
    return f"option.{question.key}.{option}.text"


def required_text_keys(areas: Sequence[Area]) -> list[str]:
    """Every text key the structure needs, in catalogue order (keywords excluded)."""
    keys: list[str] = []
    has_yes_no = False
    for area in areas:
        keys.append(f"area.{area.key}.name")
        for procedure in area.procedures:
            keys += [f"procedure.{procedure.key}.name", f"procedure.{procedure.key}.description"]
            for question_set in procedure.question_sets:
                keys.append(f"question_set.{question_set.key}.name")
                for question in question_set.questions:
                    keys += [f"question.{question.key}.text", f"question.{question.key}.help"]
                    if question.type is AnswerType.YES_NO:
                        has_yes_no = True
                    else:
                        keys += [option_text_key(question, o) for o in question.options]
    if has_yes_no:
        keys += [f"option.{o}.text" for o in YES_NO_OPTIONS]
    return keys


@dataclass(frozen=True)
class MissingText:
    language: str
    key: str

    def __str__(self) -> str:
        return f"{self.language}: {self.key}"


@dataclass
class Catalogue:
    """One version of the catalogue: structure, texts and keyword terms in every language."""

    version: str
    areas: tuple[Area, ...]
    texts: dict[str, dict[str, str]]  # language -> key -> text
    keywords: dict[str, dict[str, tuple[str, ...]]]  # language -> keyword -> terms
    procedures: dict[str, Procedure] = field(init=False)
    questions: dict[str, dict[str, Question]] = field(init=False)  # procedure -> key -> question
    keyword_areas: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.procedures = {p.key: p for a in self.areas for p in a.procedures}
        self.questions = {
            p.key: {q.key: q for q in p.questions()} for p in self.procedures.values()
        }
        self.keyword_areas = {k: a.key for a in self.areas for k in a.keywords}

    def area(self, key: str) -> Area:
        return next(a for a in self.areas if a.key == key)

    def text(self, language: str, key: str) -> str:
        """The text in ``language``; the English text only where the version lacks one."""
        found = self.texts.get(language, {}).get(key)
        if found:
            return found
        return self.texts.get(SOURCE_LANGUAGE, {}).get(key, key)

    def names(self, prefix: str, key: str) -> dict[str, str]:
        return {language: self.text(language, f"{prefix}.{key}.name") for language in LANGUAGES}

    def missing_texts(self) -> list[MissingText]:
        """Every text or keyword missing (or empty) in any of the 26 languages."""
        required = required_text_keys(self.areas)
        keywords = [k for a in self.areas for k in a.keywords]
        missing: list[MissingText] = []
        for language in LANGUAGES:
            texts = self.texts.get(language, {})
            terms = self.keywords.get(language, {})
            missing += [MissingText(language, k) for k in required if not texts.get(k)]
            missing += [
                MissingText(language, f"keyword.{k}")
                for k in keywords
                if not [t for t in terms.get(k, ()) if t.strip()]
            ]
        return missing

    def unused_texts(self) -> list[MissingText]:
        """Texts a language file holds that the structure does not use (likely typos)."""
        required = set(required_text_keys(self.areas))
        keywords = {k for a in self.areas for k in a.keywords}
        unused: list[MissingText] = []
        for language in sorted(self.texts):
            unused += [MissingText(language, k) for k in self.texts[language] if k not in required]
            unused += [
                MissingText(language, f"keyword.{k}")
                for k in self.keywords.get(language, {})
                if k not in keywords
            ]
        return unused

    def document(self) -> dict[str, Any]:
        """The structure as plain data (what is hashed and stored)."""
        return structure_document(self.areas)


def structure_document(areas: Sequence[Area]) -> dict[str, Any]:
    return {
        "areas": [
            {
                "key": a.key,
                "legal_basis": a.legal_basis,
                "keywords": list(a.keywords),
                "procedures": [
                    {
                        "key": p.key,
                        "legal_basis": p.legal_basis,
                        "retention_months": p.retention_months,
                        "kind": p.kind.value,
                        "question_sets": [
                            {
                                "key": s.key,
                                "questions": [
                                    {
                                        "key": q.key,
                                        "type": q.type.value,
                                        "personal_data": q.personal_data,
                                        "options": list(q.options),
                                    }
                                    for q in s.questions
                                ],
                            }
                            for s in p.question_sets
                        ],
                    }
                    for p in a.procedures
                ],
            }
            for a in areas
        ]
    }


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CatalogueError(f"{where}: expected a mapping")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: expected a non-empty text")
    return value


def _keys(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CatalogueError(f"{where}: expected a list of keys")
    if len(set(value)) != len(value):
        raise CatalogueError(f"{where}: duplicate keys")
    return tuple(value)


def parse_area(data: Any, where: str) -> Area:
    """One area file (or stored area document) as an Area; raises CatalogueError."""
    area = _mapping(data, where)
    area_key = _text(area.get("key"), f"{where}: key")
    procedures: list[Procedure] = []
    for i, raw_procedure in enumerate(area.get("procedures") or []):
        pw = f"{where}: procedures[{i}]"
        procedure = _mapping(raw_procedure, pw)
        question_sets: list[QuestionSet] = []
        for j, raw_set in enumerate(procedure.get("question_sets") or []):
            sw = f"{pw}.question_sets[{j}]"
            question_set = _mapping(raw_set, sw)
            set_key = _text(question_set.get("key"), f"{sw}.key")
            questions: list[Question] = []
            for k, raw_question in enumerate(question_set.get("questions") or []):
                qw = f"{sw}.questions[{k}]"
                question = _mapping(raw_question, qw)
                try:
                    answer_type = AnswerType(str(question.get("type")))
                except ValueError as exc:
                    raise CatalogueError(
                        f"{qw}.type: unknown type {question.get('type')!r}"
                    ) from exc
                options = _keys(question.get("options"), f"{qw}.options")
                if answer_type is AnswerType.CHOICE and not options:
                    raise CatalogueError(f"{qw}: a choice question needs options")
                if answer_type is not AnswerType.CHOICE and options:
                    raise CatalogueError(f"{qw}: only a choice question has options")
                questions.append(
                    Question(
                        key=_text(question.get("key"), f"{qw}.key"),
                        type=answer_type,
                        personal_data=bool(question.get("personal_data", False)),
                        options=options,
                        question_set=set_key,
                    )
                )
            if not questions:
                raise CatalogueError(f"{sw}: a question set needs questions")
            question_sets.append(QuestionSet(key=set_key, questions=tuple(questions)))
        try:
            kind = ProcedureKind(str(procedure.get("kind", ProcedureKind.REQUEST.value)))
        except ValueError as exc:
            raise CatalogueError(f"{pw}.kind: unknown kind {procedure.get('kind')!r}") from exc
        retention = procedure.get("retention_months", 6)
        if not isinstance(retention, int) or retention <= 0:
            raise CatalogueError(f"{pw}.retention_months: expected a positive number of months")
        procedures.append(
            Procedure(
                key=_text(procedure.get("key"), f"{pw}.key"),
                area=area_key,
                legal_basis=str(procedure.get("legal_basis") or area.get("legal_basis") or ""),
                retention_months=retention,
                question_sets=tuple(question_sets),
                kind=kind,
            )
        )
    return Area(
        key=area_key,
        legal_basis=str(area.get("legal_basis") or ""),
        procedures=tuple(procedures),
        keywords=_keys(area.get("keywords"), f"{where}: keywords"),
    )


def check_unique_keys(areas: Sequence[Area]) -> None:
    """Area, procedure, question set and question keys are unique across the catalogue."""
    for kind, keys in (
        ("area", [a.key for a in areas]),
        ("procedure", [p.key for a in areas for p in a.procedures]),
        ("question set", [s.key for a in areas for p in a.procedures for s in p.question_sets]),
        ("question", [q.key for a in areas for p in a.procedures for q in p.questions()]),
        ("keyword", [k for a in areas for k in a.keywords]),
    ):
        seen: set[str] = set()
        for key in keys:
            if key in seen:
                raise CatalogueError(f"{kind} key {key!r} is used twice")
            seen.add(key)


def split_language_file(
    language: str, data: Any
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """A texts/<lang>.yaml mapping as (texts, keyword terms); raises CatalogueError."""
    if data is None:
        return {}, {}
    mapping = _mapping(data, f"texts/{language}")
    texts: dict[str, str] = {}
    keywords: dict[str, tuple[str, ...]] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise CatalogueError(f"texts/{language}: key {key!r} is not a text")
        if key.startswith("keyword."):
            terms = [value] if isinstance(value, str) else value
            if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
                raise CatalogueError(f"texts/{language}: {key} expects a list of terms")
            keywords[key.removeprefix("keyword.")] = tuple(t.strip() for t in terms if t.strip())
        elif value is None:
            continue
        elif isinstance(value, str | int | float):
            texts[key] = str(value).strip()
        else:
            raise CatalogueError(f"texts/{language}: {key} expects a text")
    return texts, keywords


def content_version(
    structure: Mapping[str, Any],
    texts: Mapping[str, Mapping[str, str]],
    keywords: Mapping[str, Mapping[str, Sequence[str]]],
) -> str:
    """The version id of a catalogue content: a hash of structure, texts and keywords."""
    canonical = json.dumps(
        {
            "structure": structure,
            "texts": {lang: dict(sorted(texts[lang].items())) for lang in sorted(texts)},
            "keywords": {
                lang: {k: list(v) for k, v in sorted(keywords[lang].items())}
                for lang in sorted(keywords)
            },
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# --- keywords --------------------------------------------------------------------------------


def fold(term: str) -> str:
    """Case- and accent-insensitive form of a term (``Ärztin`` and ``arztin`` compare equal)."""
    # Case-fold after the compatibility decomposition too: NFKD may yield capitals ("ⱽ" → "V").
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", term).casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.replace("-", " ").split())


@dataclass(frozen=True)
class KeywordMatch:
    keyword: str
    area: str
    language: str
    term: str
    exact: bool


def match_keywords(
    catalogue: Catalogue, query: str, language: str | None = None
) -> list[KeywordMatch]:
    """Keywords one of whose terms equals the query or holds it at the start of a word.

    With a language, its terms are searched first; all languages are searched when it has none.
    Exact matches come before prefix matches; one match per keyword.
    """
    wanted = fold(query)
    if not wanted:
        return []
    languages = [language] if language else []
    languages += [lang for lang in LANGUAGES if lang != language]
    found: dict[str, KeywordMatch] = {}
    for pass_languages in ([language], languages) if language else (languages,):
        for lang in pass_languages:
            for keyword, terms in catalogue.keywords.get(lang, {}).items():
                if keyword not in catalogue.keyword_areas:
                    continue
                for term in terms:
                    folded = fold(term)
                    exact = folded == wanted
                    prefix = len(wanted) >= 3 and f" {wanted}" in f" {folded}"
                    if not exact and not prefix:
                        continue
                    previous = found.get(keyword)
                    if previous is None or (exact and not previous.exact):
                        found[keyword] = KeywordMatch(
                            keyword, catalogue.keyword_areas[keyword], lang, term, exact
                        )
        if found:
            break
    return sorted(found.values(), key=lambda m: (not m.exact, m.keyword))


def keyword_terms(catalogue: Catalogue, keyword: str) -> dict[str, tuple[str, ...]]:
    return {lang: catalogue.keywords.get(lang, {}).get(keyword, ()) for lang in LANGUAGES}


# --- rendering -------------------------------------------------------------------------------


class TranslationStatus(StrEnum):
    SAME_LANGUAGE = "same_language"
    AVAILABLE = "available"
    PENDING = "pending"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class FreeText:
    """A text written by a person, in its source language (None when it could not be told)."""

    text: str
    language: str | None

    @property
    def text_hash(self) -> str:
        return text_hash(self.text)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class MachineTranslation:
    text: str
    provider: str


@dataclass(frozen=True)
class TranslationState:
    """What is known about one free text in the reader's language."""

    status: TranslationStatus
    translation: MachineTranslation | None = None


@dataclass(frozen=True)
class RenderItem:
    question: Question
    answer: dict[str, Any] | None  # option / date / document; None for free text or no answer
    free_text: FreeText | None


@dataclass(frozen=True)
class RenderPlan:
    """A validated render request; free texts are listed so their translations can be looked up."""

    catalogue: Catalogue
    language: str
    procedure: Procedure
    items: tuple[RenderItem, ...]
    free_texts: tuple[tuple[str, FreeText], ...]

    def texts_to_translate(self) -> list[FreeText]:
        found = [i.free_text for i in self.items if i.free_text is not None]
        found += [f for _, f in self.free_texts]
        return [f for f in found if f.language is not None and f.language != self.language]


def _answer_text(answer: Mapping[str, Any], field: str) -> str:
    value = answer.get("text")
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("the text is empty", field=field)
    return value


def plan_render(
    catalogue: Catalogue,
    language: str,
    procedure_key: str,
    items: Sequence[tuple[str, Mapping[str, Any] | None]],
    free_texts: Sequence[tuple[str, str, str | None]],
    detect: Any = None,
) -> RenderPlan:
    """Validate a structured content against ``catalogue``; raises InvalidInput naming the field.

    ``items`` are (question key, answer); ``free_texts`` are (id, text, language tag or None);
    ``detect(text)`` tells the language of a text whose writer did not say (None if unsure).
    """
    procedure = catalogue.procedures.get(procedure_key)
    if procedure is None:
        raise InvalidInput(f"unknown procedure {procedure_key!r}", field="procedure")
    questions = catalogue.questions[procedure.key]
    planned: list[RenderItem] = []
    for i, (key, answer) in enumerate(items):
        question = questions.get(key)
        if question is None:
            raise InvalidInput(
                f"question {key!r} is not part of procedure {procedure.key!r}",
                field=f"items[{i}].question",
            )
        planned.append(_plan_item(question, answer, f"items[{i}].answer", detect))
    planned_free: list[tuple[str, FreeText]] = []
    seen: set[str] = set()
    for i, (text_id, text, tag) in enumerate(free_texts):
        if text_id in seen:
            raise InvalidInput(
                f"free text id {text_id!r} is used twice", field=f"free_texts[{i}].id"
            )
        seen.add(text_id)
        if not text.strip():
            raise InvalidInput("the text is empty", field=f"free_texts[{i}].text")
        source = (
            require_language(tag, f"free_texts[{i}].language")
            if tag
            else (detect(text) if detect else None)
        )
        planned_free.append((text_id, FreeText(text, source)))
    return RenderPlan(catalogue, language, procedure, tuple(planned), tuple(planned_free))


def _plan_item(
    question: Question, answer: Mapping[str, Any] | None, field: str, detect: Any
) -> RenderItem:
    if answer is None:
        return RenderItem(question, None, None)
    kind = question.type
    if kind in (AnswerType.YES_NO, AnswerType.CHOICE):
        option = answer.get("option")
        if not isinstance(option, str):
            raise InvalidInput(f"a {kind.value} question is answered with an option", field=field)
        if option not in question.option_keys:
            raise InvalidInput(
                f"option {option!r} does not belong to question {question.key!r}; "
                f"expected one of {', '.join(question.option_keys)}",
                field=f"{field}.option",
            )
        return RenderItem(question, {"option": option}, None)
    if kind is AnswerType.DATE:
        value = answer.get("date")
        if not isinstance(value, str):
            raise InvalidInput("a date question is answered with a date", field=field)
        try:
            parsed = date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(f"{value!r} is not an ISO 8601 date", field=f"{field}.date") from exc
        return RenderItem(question, {"date": parsed.isoformat()}, None)
    if kind is AnswerType.DOCUMENT:
        value = answer.get("document")
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(
                "a document question is answered with an attachment id", field=f"{field}.document"
            )
        return RenderItem(question, {"document": value}, None)
    text = _answer_text(answer, f"{field}.text")
    tag = answer.get("language")
    if tag is not None and not isinstance(tag, str):
        raise InvalidInput("expected a language tag", field=f"{field}.language")
    source = (
        require_language(tag, f"{field}.language") if tag else (detect(text) if detect else None)
    )
    return RenderItem(question, None, FreeText(text, source))


def free_text_view(
    free: FreeText, language: str, states: Mapping[tuple[str, str], TranslationState]
) -> dict[str, Any]:
    """A free text as the reader sees it: the original always, the translation labelled."""
    if free.language == language:
        state = TranslationState(TranslationStatus.SAME_LANGUAGE)
    elif free.language is None:
        state = TranslationState(TranslationStatus.FAILED)
    else:
        state = states.get(
            (free.text_hash, free.language), TranslationState(TranslationStatus.UNAVAILABLE)
        )
    translation = (
        {
            "text": state.translation.text,
            "machine_translated": True,
            "provider": state.translation.provider,
        }
        if state.translation is not None
        else None
    )
    return {
        "text": free.text,
        "language": free.language,
        "translation": translation,
        "translation_status": state.status.value,
    }


def render(plan: RenderPlan, states: Mapping[tuple[str, str], TranslationState]) -> dict[str, Any]:
    """Every catalogue text of the plan in the reader's language, free texts with their state.

    ``states`` holds, per (text hash, source language), the translation into the reader's
    language as far as it is known; a text absent from it is shown as "unavailable".
    """
    catalogue, language = plan.catalogue, plan.language
    texts = catalogue.texts.get(language, {})
    fallback = catalogue.texts.get(SOURCE_LANGUAGE, {})

    def text(key: str) -> str:
        return texts.get(key) or fallback.get(key, key)

    procedure = plan.procedure
    rendered_items: list[dict[str, Any]] = []
    for item in plan.items:
        question = item.question
        answer: dict[str, Any] | None
        if item.free_text is not None:
            answer = free_text_view(item.free_text, language, states)
        elif item.answer is not None and "option" in item.answer:
            option = item.answer["option"]
            answer = {"option": option, "text": text(option_text_key(question, option))}
        else:
            answer = item.answer
        rendered_items.append(
            {
                "question": question.key,
                "question_set": question.question_set,
                "type": question.type.value,
                "personal_data": question.personal_data,
                "text": text(f"question.{question.key}.text"),
                "help": text(f"question.{question.key}.help"),
                "answer": answer,
            }
        )
    rendered_free: list[dict[str, Any]] = []
    for text_id, free in plan.free_texts:
        view = free_text_view(free, language, states)
        rendered_free.append(
            {
                "id": text_id,
                "original": view["text"],
                "language": view["language"],
                "translation": view["translation"],
                "translation_status": view["translation_status"],
            }
        )
    return {
        "language": language,
        "catalogue_version": catalogue.version,
        "area": {"key": procedure.area, "name": text(f"area.{procedure.area}.name")},
        "procedure": {"key": procedure.key, "name": text(f"procedure.{procedure.key}.name")},
        "items": rendered_items,
        "free_texts": rendered_free,
    }


# --- machine translation jobs ----------------------------------------------------------------


class JobStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


def retry_delay(attempts: int, base: float, ceiling: float) -> timedelta:
    """Exponential back-off after ``attempts`` failed calls: base, 2·base, 4·base … ≤ ceiling."""
    exponent = max(0, attempts - 1)
    seconds = base * (2 ** min(exponent, 30))
    return timedelta(seconds=min(seconds, ceiling))


def gives_up(attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts


def usable_translation(value: Any) -> str | None:
    """The translated text of a provider's answer, or None when the answer is garbage."""
    if not isinstance(value, Mapping):
        return None
    translated = value.get("translatedText")
    if not isinstance(translated, str) or not translated.strip():
        return None
    return translated


# --- reading the catalogue -------------------------------------------------------------------


def areas_view(catalogue: Catalogue, language: str) -> list[dict[str, Any]]:
    """The areas with their procedures, named in ``language``."""
    return [
        {
            "key": area.key,
            "name": catalogue.text(language, f"area.{area.key}.name"),
            "legal_basis": area.legal_basis,
            "procedures": [
                {
                    "key": p.key,
                    "name": catalogue.text(language, f"procedure.{p.key}.name"),
                    "description": catalogue.text(language, f"procedure.{p.key}.description"),
                    "legal_basis": p.legal_basis,
                    "retention_months": p.retention_months,
                    "kind": p.kind.value,
                }
                for p in area.procedures
            ],
        }
        for area in catalogue.areas
    ]


def procedure_view(catalogue: Catalogue, procedure: Procedure, language: str) -> dict[str, Any]:
    """A procedure's question sets with every question, help and option text in ``language``."""
    return {
        "key": procedure.key,
        "name": catalogue.text(language, f"procedure.{procedure.key}.name"),
        "description": catalogue.text(language, f"procedure.{procedure.key}.description"),
        "legal_basis": procedure.legal_basis,
        "retention_months": procedure.retention_months,
        "kind": procedure.kind.value,
        "area": {
            "key": procedure.area,
            "name": catalogue.text(language, f"area.{procedure.area}.name"),
        },
        "question_sets": [
            {
                "key": s.key,
                "name": catalogue.text(language, f"question_set.{s.key}.name"),
                "questions": [
                    {
                        "key": q.key,
                        "type": q.type.value,
                        "personal_data": q.personal_data,
                        "text": catalogue.text(language, f"question.{q.key}.text"),
                        "help": catalogue.text(language, f"question.{q.key}.help"),
                        "options": [
                            {"key": o, "text": catalogue.text(language, option_text_key(q, o))}
                            for o in q.option_keys
                        ]
                        if q.type in (AnswerType.YES_NO, AnswerType.CHOICE)
                        else [],
                    }
                    for q in s.questions
                ],
            }
            for s in procedure.question_sets
        ],
    }
