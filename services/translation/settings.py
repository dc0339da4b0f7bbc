"""Settings of the translation service (env prefix IMI_TRANSLATION_)."""

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"


class TranslationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_TRANSLATION_", extra="ignore")

    service: str = "translation"
    port: int = 8004

    catalogue_dir: Path = CATALOGUE_DIR
    catalogue_version: str | None = Field(
        default=None, description="explicit version id of the files; default: their content hash"
    )
    catalogue_versions_in_memory: int = 8
    current_version_ttl: float = Field(
        default=10.0, description="seconds a replica trusts its idea of the current version"
    )

    provider_url: str | None = Field(
        default=None, description="LibreTranslate-compatible endpoint; none: no machine translation"
    )
    provider_api_key: str | None = None
    provider_timeout: float = 10.0
    provider_name: str = "libretranslate"

    @field_validator("provider_url", "provider_api_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        # docker-compose passes an unset variable as an empty string.
        return value.strip() or None if isinstance(value, str) else value

    worker_interval: float = 1.0
    worker_batch_size: int = 16
    max_attempts: int = 5
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 600.0
