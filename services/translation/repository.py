"""Every SQL statement of the translation service."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.translation.models import (
    CatalogueTexts,
    CatalogueVersion,
    MachineTranslationRecord,
    TranslationJob,
)
from shared.db import Repository

# Serialises publication of catalogue versions across replicas and the seed command.
PUBLISH_LOCK = 0x7472616E736C  # "transl"


class CatalogueRepository(Repository):
    async def lock_publication(self) -> None:
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLISH_LOCK}
        )

    async def add_version(
        self,
        version: str,
        structure: dict[str, Any],
        texts: dict[str, dict[str, str]],
        keywords: dict[str, dict[str, tuple[str, ...]]],
        now: datetime,
    ) -> bool:
        """Store a version with all its texts; False when it was stored before."""
        inserted = await self.session.execute(
            pg_insert(CatalogueVersion)
            .values(version=version, structure=structure, published_at=now, activated_at=now)
            .on_conflict_do_nothing(index_elements=["version"])
            .returning(CatalogueVersion.version)
        )
        if inserted.first() is None:
            return False
        languages = sorted(set(texts) | set(keywords))
        if languages:
            await self.session.execute(
                pg_insert(CatalogueTexts),
                [
                    {
                        "version": version,
                        "language": language,
                        "texts": texts.get(language, {}),
                        "keywords": {k: list(v) for k, v in keywords.get(language, {}).items()},
                    }
                    for language in languages
                ],
            )
        return True

    async def activate(self, version: str, now: datetime) -> None:
        await self.session.execute(
            update(CatalogueVersion)
            .where(CatalogueVersion.version == version)
            .values(activated_at=now)
        )

    async def current_version(self) -> str | None:
        return await self.session.scalar(
            select(CatalogueVersion.version)
            .order_by(CatalogueVersion.activated_at.desc(), CatalogueVersion.published_at.desc())
            .limit(1)
        )

    async def version(self, version: str) -> CatalogueVersion | None:
        return await self.session.get(CatalogueVersion, version)

    async def texts(self, version: str) -> list[CatalogueTexts]:
        return list(
            await self.session.scalars(
                select(CatalogueTexts).where(CatalogueTexts.version == version)
            )
        )

    async def versions(self) -> list[CatalogueVersion]:
        return list(
            await self.session.scalars(
                select(CatalogueVersion).order_by(CatalogueVersion.published_at.desc())
            )
        )


class TranslationRepository(Repository):
    async def cached(
        self, keys: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], MachineTranslationRecord]:
        """Cached translations by (text hash, source, target)."""
        wanted = list(set(keys))
        if not wanted:
            return {}
        rows = await self.session.scalars(
            select(MachineTranslationRecord).where(
                tuple_(
                    MachineTranslationRecord.text_hash,
                    MachineTranslationRecord.source_language,
                    MachineTranslationRecord.target_language,
                ).in_(wanted)
            )
        )
        return {(r.text_hash, r.source_language, r.target_language): r for r in rows}

    async def remember(
        self, text_hash: str, source: str, target: str, translated: str, provider: str
    ) -> None:
        await self.session.execute(
            pg_insert(MachineTranslationRecord)
            .values(
                text_hash=text_hash,
                source_language=source,
                target_language=target,
                translated_text=translated,
                provider=provider,
            )
            .on_conflict_do_nothing()
        )

    async def job_statuses(
        self, keys: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], set[str]]:
        """The statuses of the jobs of each (text hash, source, target)."""
        wanted = list(set(keys))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(
                TranslationJob.text_hash,
                TranslationJob.source_language,
                TranslationJob.target_language,
                TranslationJob.status,
            )
            .where(
                tuple_(
                    TranslationJob.text_hash,
                    TranslationJob.source_language,
                    TranslationJob.target_language,
                ).in_(wanted)
            )
            .distinct()
        )
        found: dict[tuple[str, str, str], set[str]] = {}
        for text_hash, source, target, status in rows:
            found.setdefault((text_hash, source, target), set()).add(status)
        return found

    async def add_jobs(self, jobs: Sequence[dict[str, Any]]) -> int:
        """Queue jobs; one already queued for the same request and text is left as it is."""
        if not jobs:
            return 0
        result = await self.session.execute(
            pg_insert(TranslationJob)
            .on_conflict_do_nothing(constraint="uq_translation_jobs_request")
            .returning(TranslationJob.id),
            list(jobs),
        )
        return len(result.all())

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Any]:
        """Take due pending jobs for one run; a replica skips the rows another has locked.

        Claiming moves ``next_attempt_at`` to the end of the lease, so a worker that dies
        mid-call leaves the job to be taken again once the lease has passed.
        """
        due = (
            select(TranslationJob.id)
            .where(TranslationJob.status == "pending", TranslationJob.next_attempt_at <= now)
            .order_by(TranslationJob.next_attempt_at, TranslationJob.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.execute(
            update(TranslationJob)
            .where(TranslationJob.id.in_(due))
            .values(
                attempts=TranslationJob.attempts + 1,
                next_attempt_at=lease_until,
                updated_at=now,
            )
            .returning(
                TranslationJob.id,
                TranslationJob.requester,
                TranslationJob.reference,
                TranslationJob.text,
                TranslationJob.text_hash,
                TranslationJob.source_language,
                TranslationJob.target_language,
                TranslationJob.attempts,
            )
        )
        return list(result.all())

    async def finish(self, job_id: int, status: str, now: datetime, error: str | None) -> None:
        await self.session.execute(
            update(TranslationJob)
            .where(TranslationJob.id == job_id)
            .values(status=status, updated_at=now, last_error=error)
        )

    async def retry_later(self, job_id: int, at: datetime, now: datetime, error: str) -> None:
        await self.session.execute(
            update(TranslationJob)
            .where(TranslationJob.id == job_id)
            .values(next_attempt_at=at, updated_at=now, last_error=error)
        )

    async def job_counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(TranslationJob.status, func.count()).group_by(TranslationJob.status)
        )
        return {status: int(count) for status, count in rows}

    async def jobs_for(self, requester: str, reference: str) -> list[TranslationJob]:
        return list(
            await self.session.scalars(
                select(TranslationJob)
                .where(TranslationJob.requester == requester, TranslationJob.reference == reference)
                .order_by(TranslationJob.id)
            )
        )
