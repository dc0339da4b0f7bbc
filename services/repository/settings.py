"""Settings of the repository service (env prefix IMI_REPOSITORY_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RepositorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_REPOSITORY_", extra="ignore")

    service: str = "repository"
    port: int = 8005
