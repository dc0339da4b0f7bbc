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
    national_systems: str = Field(
        default="",
        description="countries whose national systems are told of alerts on imi.outbound, one "
        "message per recipient authority: comma-separated codes, * for all, empty for none",
    )

    @property
    def national_countries(self) -> frozenset[str] | None:
        """None: every country; else the countries named."""
        value = self.national_systems.strip().lower()
        if value == "*":
            return None
        return frozenset(c.strip() for c in value.split(",") if c.strip())
