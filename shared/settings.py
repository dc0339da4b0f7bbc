"""Settings every process shares (prefix ``IMI_``) and the base of each service's own."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / "var"


class ConfigurationError(RuntimeError):
    """A setting is missing or unsafe for the environment the process runs in."""


class CommonSettings(BaseSettings):
    """What every process of one installation shares: servers, environment, identity key."""

    model_config = SettingsConfigDict(env_prefix="IMI_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    pg_url: str = "postgresql://postgres@127.0.0.1:5432"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    log_level: str = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"
    state_dir: Path = DEFAULT_STATE_DIR
    database_prefix: str = Field(
        default="imi", description="service databases are named <prefix>_<service>"
    )
    identity_public_key: str | None = Field(
        default=None, description="PEM of the gateway's Ed25519 public key"
    )
    identity_public_key_file: Path | None = None
    identity_issuer: str = "imi-gateway"

    @model_validator(mode="after")
    def _refuse_default_secrets_outside_dev(self) -> CommonSettings:
        if self.env == "prod":
            amqp = make_url(self.amqp_url.replace("amqp://", "postgresql://", 1))
            if amqp.username == "guest" and amqp.password == "guest":
                raise ConfigurationError("IMI_AMQP_URL uses guest/guest; set a real broker user")
            if not self.identity_public_key and not self.identity_public_key_file:
                raise ConfigurationError(
                    "IMI_IDENTITY_PUBLIC_KEY or IMI_IDENTITY_PUBLIC_KEY_FILE must be set"
                )
        return self

    @property
    def public_key_path(self) -> Path:
        return self.identity_public_key_file or self.state_dir / "identity" / "public.pem"

    @property
    def private_key_path(self) -> Path:
        return self.state_dir / "identity" / "private.pem"


class ServiceSettings(BaseSettings):
    """Base of a service's settings; a subclass sets ``service`` and prefix ``IMI_<SERVICE>_``."""

    model_config = SettingsConfigDict(extra="ignore")

    service: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    database_url: str | None = Field(
        default=None, description="this service's database; default IMI_PG_URL/<prefix>_<service>"
    )
    database_pool_size: int = 10
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="serving processes on the one port, each with its own pool, relay and "
        "consumers (a replica each); one per core the service may use",
    )
    background_process: bool = Field(
        default=False,
        description="the outbox relay and the periodic jobs in a process of their own beside "
        "the workers, which then only serve (and consume); under load the relay keeps its share "
        "of the CPU instead of waiting behind the calls in the workers' event loops",
    )
    background_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="the background process's niceness: on a busy machine the workers' calls "
        "go first and the relay publishes with the CPU they leave (its lag is the "
        "imi_outbox_lag_seconds metric); the outbox keeps what waits",
    )
    relay_batch_size: int = 500
    consumer_prefetch: int = 200
    common: CommonSettings = Field(default_factory=CommonSettings)

    @property
    def database_name(self) -> str:
        if self.database_url:
            name = make_url(self.database_url).database
            if name:
                return name
        return f"{self.common.database_prefix}_{self.service}"

    @property
    def sqlalchemy_url(self) -> str:
        """This service's database as an asyncpg SQLAlchemy URL."""
        base = make_url(self.database_url or self.common.pg_url)
        url = base.set(drivername="postgresql+asyncpg", database=self.database_name)
        return url.render_as_string(hide_password=False)
