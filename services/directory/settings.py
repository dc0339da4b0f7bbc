"""Settings of the directory service (env prefix IMI_DIRECTORY_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class DirectorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_DIRECTORY_", extra="ignore")

    service: str = "directory"
    port: int = 8001
    # argon2id parameters (argon2-cffi's defaults, RFC 9106 "low memory"); tests lower them.
    password_time_cost: int = 3
    password_memory_cost: int = Field(default=65536, description="KiB")
    password_parallelism: int = 4
    catalogue_ttl: float = Field(
        default=10.0, description="seconds the current catalogue version is trusted in memory"
    )
    idempotency_hours: int = 24
    import_max_bytes: int = 5_000_000
