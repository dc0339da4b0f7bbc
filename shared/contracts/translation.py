"""Events of the translation service, and the machine-translation request other services send it.

``translation.catalogue.published`` carries the catalogue's structure (no question texts) plus the
names other services show and search by: area and procedure names and competence keywords in all
26 languages. Requests keep the catalogue version they were written with.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.contracts import Event

# The 24 official EU languages, Icelandic and Norwegian.
LANGUAGES: tuple[str, ...] = (
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu",
    "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv", "is", "no",
)  # fmt: skip


class AnswerType(StrEnum):
    YES_NO = "yes_no"
    CHOICE = "choice"
    DATE = "date"
    FREE_TEXT = "free_text"
    DOCUMENT = "document"


class ProcedureKind(StrEnum):
    """What a procedure's question sets are used for."""

    REQUEST = "request"  # one-to-one information request (exchange)
    ALERT = "alert"  # one-to-many alert (alerts)
    NOTIFICATION = "notification"  # one-to-many notification (alerts)


class QuestionSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    type: AnswerType
    personal_data: bool = False
    options: tuple[str, ...] = ()  # choice options; yes_no has ("yes", "no")


class QuestionSetSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    questions: tuple[QuestionSpec, ...]


class ProcedureSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    area: str
    legal_basis: str
    retention_months: int  # personal data blocked this long after formal closure
    question_sets: tuple[QuestionSetSpec, ...]
    kind: ProcedureKind = ProcedureKind.REQUEST


class CataloguePublished(Event):
    type = "translation.catalogue.published"

    version: str
    published_at: datetime
    procedures: tuple[ProcedureSpec, ...]
    area_names: dict[str, dict[str, str]]  # area -> language -> name
    procedure_names: dict[str, dict[str, str]]  # procedure -> language -> name
    keywords: dict[str, dict[str, tuple[str, ...]]]  # keyword -> language -> terms
    keyword_areas: dict[str, str]  # keyword -> area


class TranslationRequested(Event):
    """Sent by any service that holds free text a reader should see in another language."""

    type = "translation.requested"

    reference: str  # the sender's id of the text, e.g. "exchange:request:<id>:part:<n>"
    requester: str  # the sending service; results come back on translation.completed
    text: str
    source_language: str | None = None  # detected when absent
    target_languages: tuple[str, ...]


class TranslationCompleted(Event):
    """A machine translation, always to be shown labelled as such beside the kept original."""

    type = "translation.completed"

    reference: str
    requester: str
    source_language: str
    target_language: str
    translated_text: str
    provider: str
    machine_translated: bool = True


class TranslationFailed(Event):
    type = "translation.failed"

    reference: str
    requester: str
    target_language: str
    reason: str
