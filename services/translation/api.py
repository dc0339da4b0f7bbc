"""Internal HTTP API of the translation service (thin: parse, call one use case)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.translation.deps import (
    CatalogueVersionsDep,
    IdentityDep,
    ReaderLanguageDep,
    SessionDep,
    SettingsDep,
)
from services.translation.detection import candidates, detect_language
from services.translation.domain import areas_view, procedure_view
from services.translation.repository import CatalogueRepository
from services.translation.schemas import (
    CatalogueVersionOut,
    DetectedLanguage,
    DetectLanguageRequest,
    LanguageCandidate,
    RenderRequest,
)
from services.translation.service import expand_keywords, render_content, require_text, utc_now
from shared.languages import require_language
from shared.problems import InvalidInput, NotFound

router = APIRouter(prefix="/v1", tags=["catalogue"])


@router.get("/catalogue/areas")
async def list_areas(
    identity: IdentityDep,
    session: SessionDep,
    versions: CatalogueVersionsDep,
    language: ReaderLanguageDep,
    version: str | None = None,
) -> dict[str, Any]:
    """Legislative areas with their procedures, named in the reader's language."""
    catalogue = await versions.get(session, version)
    return {
        "catalogue_version": catalogue.version,
        "language": language,
        "items": areas_view(catalogue, language),
    }


@router.get("/catalogue/procedures/{key}")
async def get_procedure(
    key: str,
    identity: IdentityDep,
    session: SessionDep,
    versions: CatalogueVersionsDep,
    language: ReaderLanguageDep,
    version: str | None = None,
) -> dict[str, Any]:
    """A procedure's question sets, every text in the reader's language."""
    catalogue = await versions.get(session, version)
    procedure = catalogue.procedures.get(key)
    if procedure is None:
        raise NotFound(f"no procedure {key!r} in catalogue version {catalogue.version}")
    return {
        "catalogue_version": catalogue.version,
        "language": language,
        **procedure_view(catalogue, procedure, language),
    }


@router.get("/catalogue/keywords")
async def find_keywords(
    identity: IdentityDep,
    session: SessionDep,
    versions: CatalogueVersionsDep,
    q: str = Query(default="", max_length=200),
    lang: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """Cross-lingual keyword expansion: the keywords a term names, with their terms in all
    26 languages. Without ``q``, every keyword."""
    language = require_language(lang, "lang") if lang else None
    catalogue = await versions.get(session, version)
    if q.strip():
        items = expand_keywords(catalogue, q, language)
    else:
        items = [
            {
                "keyword": k,
                "area": area,
                "matched": None,
                "terms": {
                    lang_: list(catalogue.keywords.get(lang_, {}).get(k, ()))
                    for lang_ in sorted(catalogue.keywords)
                },
            }
            for k, area in catalogue.keyword_areas.items()
        ]
    return {"catalogue_version": catalogue.version, "query": q, "items": items}


@router.get("/catalogue/versions")
async def list_versions(
    identity: IdentityDep, session: SessionDep
) -> dict[str, list[CatalogueVersionOut]]:
    """Every published catalogue version, newest first."""
    repository = CatalogueRepository(session)
    current = await repository.current_version()
    return {
        "items": [
            CatalogueVersionOut(
                version=v.version,
                published_at=v.published_at.isoformat(),
                current=v.version == current,
            )
            for v in await repository.versions()
        ]
    }


@router.post("/render", tags=["rendering"], response_class=JSONResponse)
async def render_request(
    body: RenderRequest,
    identity: IdentityDep,
    session: SessionDep,
    versions: CatalogueVersionsDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Every text of a structured content in one language; free texts original + translation."""
    language = require_language(body.language, "language")
    catalogue = await versions.get(session, body.catalogue_version, field="catalogue_version")
    # The rendered content is plain JSON already: no response-model validation on the hot path.
    rendered = await render_content(
        session,
        catalogue,
        language=language,
        procedure=body.procedure,
        items=[(item.question, item.answer) for item in body.items],
        free_texts=[(f.id, f.text, f.language) for f in body.free_texts],
        provider_configured=settings.provider_url is not None,
        now=utc_now(),
    )
    return JSONResponse(rendered)


@router.post("/detect-language", tags=["rendering"])
async def detect(body: DetectLanguageRequest, identity: IdentityDep) -> DetectedLanguage:
    """The language of a free text, by langdetect; null when it cannot tell."""
    text = require_text(body.text, "text")
    if len(text) > 100_000:
        raise InvalidInput("the text is too long to detect", field="text")
    return DetectedLanguage(
        language=detect_language(text),
        candidates=[
            LanguageCandidate(language=c.language, probability=c.probability)
            for c in candidates(text)
        ],
    )
