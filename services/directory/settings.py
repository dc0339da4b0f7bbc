"""Settings of the directory service (env prefix IMI_DIRECTORY_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class DirectorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_DIRECTORY_", extra="ignore")

    service: str = "directory"
    port: int = 8001
