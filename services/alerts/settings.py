"""Settings of the alerts service (env prefix IMI_ALERTS_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AlertsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_ALERTS_", extra="ignore")

    service: str = "alerts"
    port: int = 8003

    deadline_interval: float = Field(
        default=60.0, description="seconds between runs of the overdue check"
    )
    retention_interval: float = Field(
        default=3600.0, description="seconds between runs of personal-data blocking and deletion"
    )
    job_batch_size: int = Field(default=200, description="rows one job transaction takes")
    catalogue_versions_in_memory: int = 8
