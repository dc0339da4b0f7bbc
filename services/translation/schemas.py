"""Request and response models of the translation service's internal HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RenderItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    # {"option"}, {"date"}, {"document"} or {"text", "language"?}; null when not answered.
    answer: dict[str, Any] | None = None


class FreeTextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    text: str
    language: str | None = None  # detected when absent


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str
    catalogue_version: str | None = None  # default: the current version
    procedure: str
    items: list[RenderItemIn] = Field(default_factory=list, max_length=1000)
    free_texts: list[FreeTextIn] = Field(default_factory=list, max_length=200)


class DetectLanguageRequest(BaseModel):
    text: str


class LanguageCandidate(BaseModel):
    language: str
    probability: float


class DetectedLanguage(BaseModel):
    language: str | None  # null when no supported language is recognised with confidence
    candidates: list[LanguageCandidate]


class CatalogueVersionOut(BaseModel):
    version: str
    published_at: str
    current: bool
