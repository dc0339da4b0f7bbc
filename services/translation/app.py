"""Builds the translation service: FastAPI app, event consumer, outbox relay, translation worker."""

from __future__ import annotations

from fastapi import FastAPI

from services.translation.api import router
from services.translation.catalogue_files import load_catalogue
from services.translation.handlers import build_consumer
from services.translation.models import outbox
from services.translation.provider import LibreTranslateProvider, TranslationProvider
from services.translation.service import (
    CatalogueVersions,
    Clock,
    TranslationWorker,
    publish_catalogue,
    utc_now,
)
from services.translation.settings import TranslationSettings
from shared.logging import get_logger
from shared.runtime import PeriodicJob, ServiceRuntime
from shared.settings import ConfigurationError

log = get_logger(__name__)


def provider_from(settings: TranslationSettings) -> TranslationProvider | None:
    if not settings.provider_url:
        return None
    return LibreTranslateProvider(
        settings.provider_url,
        api_key=settings.provider_api_key,
        timeout=settings.provider_timeout,
        name=settings.provider_name,
    )


def create_app(settings: TranslationSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or TranslationSettings()
    versions = CatalogueVersions(
        settings.catalogue_versions_in_memory, settings.current_version_ttl
    )
    provider = provider_from(settings)
    worker = TranslationWorker(settings, outbox, provider, clock)

    async def publish_files(runtime: ServiceRuntime) -> None:
        """Load the catalogue files; store and announce their version if it is new."""
        catalogue = load_catalogue(settings.catalogue_dir, settings.catalogue_version)
        missing = catalogue.missing_texts()
        if missing:
            if settings.common.env == "prod":
                raise ConfigurationError(
                    f"the catalogue lacks {len(missing)} texts (first: {missing[0]}); "
                    "run python -m services.translation.catalogue_check"
                )
            log.warning(
                "catalogue incomplete; English stands in for missing texts",
                missing=len(missing),
                first=str(missing[0]),
            )
        async with runtime.db.transaction() as session:
            await publish_catalogue(session, outbox, catalogue, clock())
        versions.keep(catalogue, current=True)

    async def close_provider(runtime: ServiceRuntime) -> None:
        if provider is not None:
            await provider.close()

    runtime = ServiceRuntime(
        settings,
        title="IMI catalogue and translation",
        outbox=outbox,
        consumer=build_consumer(),
        jobs=[PeriodicJob("machine-translation", settings.worker_interval, worker.run)],
        extra_startup=[publish_files],
        extra_shutdown=[close_provider],
    )
    app = runtime.fastapi([router])
    app.state.catalogue_versions = versions
    app.state.translation_worker = worker
    return app
