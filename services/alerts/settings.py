"""Settings of the alerts service (env prefix IMI_ALERTS_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AlertsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_ALERTS_", extra="ignore")

    service: str = "alerts"
    port: int = 8003
