"""Settings of the exchange service (env prefix IMI_EXCHANGE_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ExchangeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_EXCHANGE_", extra="ignore")

    service: str = "exchange"
    port: int = 8002

    attachments_dir: Path | None = Field(
        default=None, description="default: <IMI_STATE_DIR>/attachments/exchange"
    )
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)

    acceptance_days: int = 7
    acceptance_reminder_days: int = 2
    reply_reminder_days: int = 3
    escalation_grace_days: int = 0
    idle_months: int = 2
    deletion_months: int = 36

    deadline_job_interval: float = 60.0
    retention_job_interval: float = 3600.0
    job_batch_size: int = 200
    idempotency_key_days: int = 7

    list_default_limit: int = 50
    list_max_limit: int = 200

    @property
    def attachments_path(self) -> Path:
        return self.attachments_dir or self.common.state_dir / "attachments" / "exchange"
