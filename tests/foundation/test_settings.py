"""Settings refuse unsafe defaults outside development and name each service's database."""

from __future__ import annotations

import pytest

from services.exchange.settings import ExchangeSettings
from shared.settings import CommonSettings, ConfigurationError


class TestDefaultSecrets:
    def test_production_refuses_the_guest_broker_user(self) -> None:
        with pytest.raises(ConfigurationError, match="guest"):
            CommonSettings(env="prod", identity_public_key="x")

    def test_production_refuses_to_start_without_identity_key(self) -> None:
        with pytest.raises(ConfigurationError, match="IDENTITY"):
            CommonSettings(env="prod", amqp_url="amqp://imi:secret@broker:5672/")

    def test_production_with_real_secrets_is_accepted(self) -> None:
        settings = CommonSettings(
            env="prod", amqp_url="amqp://imi:secret@broker:5672/", identity_public_key="pem"
        )
        assert settings.env == "prod"

    def test_development_accepts_local_defaults(self) -> None:
        assert CommonSettings(env="dev").amqp_url.startswith("amqp://guest")


class TestDatabaseNames:
    def test_each_service_has_its_own_database(self) -> None:
        common = CommonSettings(env="dev", pg_url="postgresql://u:p@db:5432")
        settings = ExchangeSettings(common=common)
        assert settings.database_name == "imi_exchange"
        assert settings.sqlalchemy_url == "postgresql+asyncpg://u:p@db:5432/imi_exchange"

    def test_explicit_database_url_wins(self) -> None:
        settings = ExchangeSettings(
            common=CommonSettings(env="dev"),
            database_url="postgresql://x:y@exchange-db:5432/exchange_prod",
        )
        assert settings.database_name == "exchange_prod"
        assert "exchange-db:5432/exchange_prod" in settings.sqlalchemy_url
