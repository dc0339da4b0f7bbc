"""Use cases of the translation service: publish and read the catalogue, render, translate.

They may flush, never commit: the route or the consumer that calls them owns the transaction.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.translation.detection import detect_language
from services.translation.domain import (
    Catalogue,
    FreeText,
    JobStatus,
    KeywordMatch,
    MachineTranslation,
    TranslationState,
    TranslationStatus,
    gives_up,
    keyword_terms,
    match_keywords,
    parse_area,
    plan_render,
    render,
    retry_delay,
    text_hash,
)
from services.translation.provider import ProviderError, TranslationProvider
from services.translation.repository import CatalogueRepository, TranslationRepository
from services.translation.settings import TranslationSettings
from shared.contracts.translation import (
    LANGUAGES,
    AnswerType,
    CataloguePublished,
    ProcedureSpec,
    QuestionSetSpec,
    QuestionSpec,
    TranslationCompleted,
    TranslationFailed,
    TranslationRequested,
)
from shared.db import Database
from shared.languages import language_tag
from shared.logging import get_logger
from shared.messaging import Outbox
from shared.problems import InvalidInput, NotFound

log = get_logger(__name__)

SERVICE = "translation"
RENDER_REFERENCE = "render"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- publishing ------------------------------------------------------------------------------


def published_event(catalogue: Catalogue, now: datetime) -> CataloguePublished:
    """What other services keep of a version: structure, names and keywords, no question texts."""
    return CataloguePublished(
        version=catalogue.version,
        published_at=now,
        procedures=tuple(
            ProcedureSpec(
                key=p.key,
                area=p.area,
                legal_basis=p.legal_basis,
                retention_months=p.retention_months,
                question_sets=tuple(
                    QuestionSetSpec(
                        key=s.key,
                        questions=tuple(
                            QuestionSpec(
                                key=q.key,
                                type=q.type,
                                personal_data=q.personal_data,
                                options=q.option_keys
                                if q.type in (AnswerType.YES_NO, AnswerType.CHOICE)
                                else (),
                            )
                            for q in s.questions
                        ),
                    )
                    for s in p.question_sets
                ),
                kind=p.kind,
            )
            for a in catalogue.areas
            for p in a.procedures
        ),
        area_names={a.key: catalogue.names("area", a.key) for a in catalogue.areas},
        procedure_names={key: catalogue.names("procedure", key) for key in catalogue.procedures},
        keywords={k: keyword_terms(catalogue, k) for k in catalogue.keyword_areas},
        keyword_areas=dict(catalogue.keyword_areas),
    )


async def publish_catalogue(
    session: AsyncSession, outbox: Outbox, catalogue: Catalogue, now: datetime
) -> bool:
    """Store and announce ``catalogue`` unless its version is stored already; it becomes current.

    Returns True when the version was new. Safe when replicas and the seed command race.
    """
    repository = CatalogueRepository(session)
    await repository.lock_publication()
    stored = await repository.add_version(
        catalogue.version, catalogue.document(), catalogue.texts, catalogue.keywords, now
    )
    if stored:
        await outbox.add(session, published_event(catalogue, now), subject=catalogue.version)
        log.info("catalogue version published", version=catalogue.version)
        return True
    if await repository.current_version() != catalogue.version:
        await repository.activate(catalogue.version, now)
        log.info("catalogue version made current again", version=catalogue.version)
    return False


async def republish_current(session: AsyncSession, outbox: Outbox, now: datetime) -> str | None:
    """Announce the current version again (for a service that joined after it was published)."""
    repository = CatalogueRepository(session)
    version = await repository.current_version()
    if version is None:
        return None
    catalogue = await load_stored_version(repository, version)
    if catalogue is None:
        return None
    await outbox.add(session, published_event(catalogue, now), subject=version)
    return version


async def load_stored_version(repository: CatalogueRepository, version: str) -> Catalogue | None:
    record = await repository.version(version)
    if record is None:
        return None
    areas = tuple(
        parse_area(area, f"stored version {version}") for area in record.structure["areas"]
    )
    texts: dict[str, dict[str, str]] = {}
    keywords: dict[str, dict[str, tuple[str, ...]]] = {}
    for row in await repository.texts(version):
        texts[row.language] = dict(row.texts)
        keywords[row.language] = {k: tuple(v) for k, v in row.keywords.items()}
    return Catalogue(version=version, areas=areas, texts=texts, keywords=keywords)


class CatalogueVersions:
    """The current and recently used versions, held in memory so rendering reads no texts from
    the database; the current version id is trusted for ``ttl`` seconds."""

    def __init__(self, capacity: int = 8, ttl: float = 10.0) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._versions: OrderedDict[str, Catalogue] = OrderedDict()
        self._current: tuple[str, float] | None = None
        self._loading = asyncio.Lock()

    def keep(self, catalogue: Catalogue, *, current: bool = False) -> None:
        self._versions[catalogue.version] = catalogue
        self._versions.move_to_end(catalogue.version)
        while len(self._versions) > self.capacity:
            self._versions.popitem(last=False)
        if current:
            self._current = (catalogue.version, time.monotonic())

    async def get(
        self, session: AsyncSession, version: str | None, *, field: str = "version"
    ) -> Catalogue:
        """The version asked for, or the current one; NotFound naming ``field`` if unknown."""
        repository = CatalogueRepository(session)
        if version is None:
            if self._current is not None and time.monotonic() - self._current[1] < self.ttl:
                version = self._current[0]
            else:
                version = await repository.current_version()
                if version is None:
                    raise NotFound("no catalogue has been published yet")
                self._current = (version, time.monotonic())
        found = self._versions.get(version)
        if found is not None:
            self._versions.move_to_end(version)
            return found
        async with self._loading:
            found = self._versions.get(version)
            if found is None:
                found = await load_stored_version(repository, version)
                if found is None:
                    raise NotFound(f"unknown catalogue version {version!r}", field=field)
                self.keep(found)
        return found


# --- reading the catalogue -------------------------------------------------------------------


def expand_keywords(catalogue: Catalogue, query: str, language: str | None) -> list[dict[str, Any]]:
    matches: list[KeywordMatch] = match_keywords(catalogue, query, language)
    return [
        {
            "keyword": m.keyword,
            "area": m.area,
            "matched": {"language": m.language, "term": m.term, "exact": m.exact},
            "terms": {
                lang: list(terms) for lang, terms in keyword_terms(catalogue, m.keyword).items()
            },
        }
        for m in matches
    ]


# --- rendering -------------------------------------------------------------------------------


async def render_content(
    session: AsyncSession,
    catalogue: Catalogue,
    *,
    language: str,
    procedure: str,
    items: Sequence[tuple[str, Mapping[str, Any] | None]],
    free_texts: Sequence[tuple[str, str, str | None]],
    provider_configured: bool,
    now: datetime,
) -> dict[str, Any]:
    """Render a structured content in ``language``; never waits on the provider.

    A free text with no translation yet is queued once for the worker and shown as pending.
    """
    plan = plan_render(catalogue, language, procedure, items, free_texts, detect=detect_language)
    to_translate = plan.texts_to_translate()
    states: dict[tuple[str, str], TranslationState] = {}
    if to_translate:
        states = await _translation_states(
            TranslationRepository(session), to_translate, language, provider_configured, now
        )
    return render(plan, states)


async def _translation_states(
    repository: TranslationRepository,
    texts: Sequence[FreeText],
    target: str,
    provider_configured: bool,
    now: datetime,
) -> dict[tuple[str, str], TranslationState]:
    by_key = {(f.text_hash, f.language or "", target): f for f in texts}
    cached = await repository.cached(by_key)
    states: dict[tuple[str, str], TranslationState] = {}
    unknown = []
    for key in by_key:
        record = cached.get(key)
        if record is not None:
            states[key[:2]] = TranslationState(
                TranslationStatus.AVAILABLE,
                MachineTranslation(record.translated_text, record.provider),
            )
        elif not provider_configured:
            states[key[:2]] = TranslationState(TranslationStatus.UNAVAILABLE)
        else:
            unknown.append(key)
    if unknown:
        statuses = await repository.job_statuses(unknown)
        to_queue = []
        for key in unknown:
            found = statuses.get(key, set())
            if JobStatus.PENDING in found or JobStatus.DONE in found:
                states[key[:2]] = TranslationState(TranslationStatus.PENDING)
            elif JobStatus.FAILED in found:
                states[key[:2]] = TranslationState(TranslationStatus.FAILED)
            else:
                states[key[:2]] = TranslationState(TranslationStatus.PENDING)
                to_queue.append(
                    _job(SERVICE, RENDER_REFERENCE, by_key[key].text, key[1], key[2], now)
                )
        await repository.add_jobs(to_queue)
    return states


def _job(
    requester: str, reference: str, text: str, source: str, target: str, now: datetime
) -> dict[str, Any]:
    return {
        "requester": requester,
        "reference": reference,
        "text": text,
        "text_hash": text_hash(text),
        "source_language": source,
        "target_language": target,
        "status": JobStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


# --- machine translation requests ------------------------------------------------------------


async def accept_translation_request(
    session: AsyncSession, outbox: Outbox, event: TranslationRequested, now: datetime
) -> None:
    """Queue one job per target language; answer at once what needs no provider.

    A target equal to the source comes back as the original, not machine translated; a cached
    translation comes back without calling the provider; what cannot be done is reported failed.
    """

    async def fail(target: str, reason: str) -> None:
        await outbox.add(
            session,
            TranslationFailed(
                reference=event.reference,
                requester=event.requester,
                target_language=target,
                reason=reason,
            ),
            subject=event.reference,
        )

    if not event.text.strip():
        for target in event.target_languages:
            await fail(target, "the text is empty")
        return
    source = language_tag(event.source_language) if event.source_language else None
    if event.source_language and source is None:
        for target in event.target_languages:
            await fail(target, f"unknown source language {event.source_language!r}")
        return
    source = source or detect_language(event.text)
    if source is None:
        for target in event.target_languages:
            await fail(target, "the language of the text could not be detected")
        return
    repository = TranslationRepository(session)
    digest = text_hash(event.text)
    targets: list[str] = []
    for raw in dict.fromkeys(event.target_languages):
        known = language_tag(raw)
        if known is None:
            await fail(raw, f"unknown target language {raw!r}")
        else:
            targets.append(known)
    cached = await repository.cached((digest, source, t) for t in targets)
    jobs = []
    for target in dict.fromkeys(targets):
        record = cached.get((digest, source, target))
        if target == source:
            translated, provider, machine = event.text, "original", False
        elif record is not None:
            translated, provider, machine = record.translated_text, record.provider, True
        else:
            jobs.append(_job(event.requester, event.reference, event.text, source, target, now))
            continue
        await outbox.add(
            session,
            TranslationCompleted(
                reference=event.reference,
                requester=event.requester,
                source_language=source,
                target_language=target,
                translated_text=translated,
                provider=provider,
                machine_translated=machine,
            ),
            subject=event.reference,
        )
    await repository.add_jobs(jobs)


class TranslationWorker:
    """Takes due jobs, calls the provider outside any transaction, records each outcome.

    Safe with replicas: jobs are claimed with SKIP LOCKED and leased for the call.
    """

    def __init__(
        self,
        settings: TranslationSettings,
        outbox: Outbox,
        provider: TranslationProvider | None,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.provider = provider
        self.clock = clock

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.provider_timeout * 2 + 30)

    async def run(self, db: Database) -> int:
        """One round: returns how many jobs it settled or rescheduled."""
        now = self.clock()
        async with db.transaction() as session:
            jobs = await TranslationRepository(session).claim_due(
                now, now + self.lease, self.settings.worker_batch_size
            )
        if not jobs:
            return 0
        await asyncio.gather(*(self._work(db, job) for job in jobs))
        return len(jobs)

    async def _work(self, db: Database, job: Any) -> None:
        async with db.transaction() as session:
            cached = await TranslationRepository(session).cached(
                [(job.text_hash, job.source_language, job.target_language)]
            )
        record = next(iter(cached.values()), None)
        if record is not None:
            await self._succeed(db, job, record.translated_text, record.provider, cache=False)
            return
        if self.provider is None:
            await self._fail(db, job, "no machine-translation provider is configured", final=True)
            return
        try:
            translated = await self.provider.translate(
                job.text, job.source_language, job.target_language
            )
        except ProviderError as exc:
            final = gives_up(job.attempts, self.settings.max_attempts)
            log.warning(
                "machine translation failed",
                job=job.id,
                attempt=job.attempts,
                final=final,
                error=str(exc),
            )
            await self._fail(db, job, str(exc), final=final)
            return
        await self._succeed(db, job, translated, self.provider.name, cache=True)

    async def _succeed(
        self, db: Database, job: Any, translated: str, provider: str, *, cache: bool
    ) -> None:
        now = self.clock()
        async with db.transaction() as session:
            repository = TranslationRepository(session)
            if cache:
                await repository.remember(
                    job.text_hash, job.source_language, job.target_language, translated, provider
                )
            await repository.finish(job.id, JobStatus.DONE, now, None)
            if job.requester != SERVICE:
                await self.outbox.add(
                    session,
                    TranslationCompleted(
                        reference=job.reference,
                        requester=job.requester,
                        source_language=job.source_language,
                        target_language=job.target_language,
                        translated_text=translated,
                        provider=provider,
                        machine_translated=True,
                    ),
                    subject=job.reference,
                )

    async def _fail(self, db: Database, job: Any, reason: str, *, final: bool) -> None:
        now = self.clock()
        async with db.transaction() as session:
            repository = TranslationRepository(session)
            if not final:
                delay = retry_delay(
                    job.attempts, self.settings.retry_base_seconds, self.settings.retry_max_seconds
                )
                await repository.retry_later(job.id, now + delay, now, reason)
                return
            await repository.finish(job.id, JobStatus.FAILED, now, reason)
            if job.requester != SERVICE:
                await self.outbox.add(
                    session,
                    TranslationFailed(
                        reference=job.reference,
                        requester=job.requester,
                        target_language=job.target_language,
                        reason=f"{reason} (after {job.attempts} attempts)",
                    ),
                    subject=job.reference,
                )


def supported_languages() -> tuple[str, ...]:
    return LANGUAGES


def require_text(text: str, field: str) -> str:
    if not text.strip():
        raise InvalidInput("the text is empty", field=field)
    return text
