"""Settings of the exchange service (env prefix IMI_EXCHANGE_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ExchangeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_EXCHANGE_", extra="ignore")

    service: str = "exchange"
    port: int = 8002
