"""Request models of the alerts service's internal HTTP API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.alerts.domain import MAX_FREE_TEXTS, MAX_ITEMS
from services.alerts.service import ContentInput


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(Body):
    question: str = Field(min_length=1, max_length=200)
    # {"option"}, {"date"}, {"document"} or {"text", "language"?}; null when not answered.
    answer: dict[str, Any] | None = None


class FreeTextIn(Body):
    id: str = Field(min_length=1, max_length=100)
    text: str
    language: str | None = None  # the writer's language when absent


class ContentIn(Body):
    """Items answering the procedure's catalogue questions, and free texts, in the render shape
    of the translation service."""

    items: list[ItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    free_texts: list[FreeTextIn] = Field(default_factory=list, max_length=MAX_FREE_TEXTS)

    def to_input(self) -> ContentInput:
        return ContentInput(
            items=[(i.question, i.answer) for i in self.items],
            free_texts=[(f.id, f.text, f.language) for f in self.free_texts],
        )


class ProfessionalIn(Body):
    """The professional's identity in a professional-qualifications alert (personal data)."""

    full_name: str
    date_of_birth: date | None = None
    place_of_birth: str | None = None
    nationality: str | None = None  # ISO 3166-1 alpha-2
    registration_number: str | None = None
    qualification: str | None = None  # the diploma or professional title

    def to_input(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class DraftIn(Body):
    procedure: str
    catalogue_version: str | None = None  # default: the newest version known
    content: ContentIn = Field(default_factory=ContentIn)
    language: str | None = None  # the writer's language; default the identity's
    profession: str | None = None  # professional-qualifications alerts: a catalogue keyword
    professional: ProfessionalIn | None = None
    deciding_authority: str | None = None


class EditIn(Body):
    """The fields of a draft to change; the others stay as they are."""

    content: ContentIn | None = None
    language: str | None = None
    profession: str | None = None
    professional: ProfessionalIn | None = None
    deciding_authority: str | None = None


class NoInput(Body):
    """Actions that take no input (submit, approve, acknowledge)."""


class ReasonIn(Body):
    reason: str | None = None


class BroadcastIn(Body):
    # The countries (ISO 3166-1 alpha-2) or "all"; a professional-qualifications alert goes to
    # every other EEA country and takes none. The Commission always receives.
    countries: list[str] | Literal["all"] | None = Field(default=None, max_length=30)


class DisseminateIn(Body):
    """Authorities of the coordinator's own country: competent for one of the procedures and
    in one of the regions (each criterion when given), plus those named by id."""

    country: str | None = None  # when given, the coordinator's own
    procedures: list[str] = Field(default_factory=list, max_length=50)
    regions: list[str] = Field(default_factory=list, max_length=200)
    authority_ids: list[uuid.UUID] = Field(default_factory=list, max_length=5000)


class CommentIn(Body):
    text: str
    language: str | None = None


class UpdateIn(Body):
    """Information added to a sent alert."""

    items: list[ItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    free_texts: list[FreeTextIn] = Field(default_factory=list, max_length=MAX_FREE_TEXTS)
    language: str | None = None

    def to_input(self) -> ContentInput:
        return ContentInput(
            items=[(i.question, i.answer) for i in self.items],
            free_texts=[(f.id, f.text, f.language) for f in self.free_texts],
        )


class RectifyIn(Body):
    """A content replacing the current one (which stays in the history)."""

    content: ContentIn
    reason: str | None = None
    language: str | None = None
    profession: str | None = None
    professional: ProfessionalIn | None = None
    deciding_authority: str | None = None
