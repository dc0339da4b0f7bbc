"""Settings of the gateway (env prefix IMI_GATEWAY_)."""

from pathlib import Path

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ConfigurationError, ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_GATEWAY_", extra="ignore")

    service: str = "gateway"
    port: int = 8000
    # The private half of the identity key pair; only the gateway holds it.
    private_key_file: Path | None = None
    identity_ttl_seconds: int = 300
    directory_url: str = "http://127.0.0.1:8001"
    exchange_url: str = "http://127.0.0.1:8002"
    alerts_url: str = "http://127.0.0.1:8003"
    translation_url: str = "http://127.0.0.1:8004"
    repository_url: str = "http://127.0.0.1:8005"
    upstream_timeout_seconds: float = 15.0
    web_session_minutes: int = 480
    api_token_minutes: int = 60
    login_max_failures: int = 5
    login_window_minutes: int = 15
    login_lockout_minutes: int = 15
    # Secure cookies and HSTS; on by default outside development (TLS ends before the gateway).
    tls: bool | None = None
    max_body_bytes: int = 26 * 1024 * 1024
    # Per gateway replica: sign-in attempts per client address, API calls per caller.
    signin_rate_per_minute: float = 60
    signin_burst: int = 30
    api_rate_per_second: float = 50
    api_burst: int = 200
    # An OpenID Connect provider beside passwords (EU Login, Keycloak): gateway/oidc.py.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_provider_name: str = "EU Login"
    oidc_username_claim: str = "preferred_username"
    oidc_scopes: str = "openid profile email"
    # The callback URL registered with the provider; by default derived from the request.
    oidc_redirect_uri: str | None = None

    @model_validator(mode="after")
    def _private_key_outside_dev(self) -> "GatewaySettings":
        if self.common.env == "prod" and self.private_key_file is None:
            raise ConfigurationError("IMI_GATEWAY_PRIVATE_KEY_FILE must be set outside development")
        if self.oidc_issuer and not self.oidc_client_id:
            raise ConfigurationError("IMI_GATEWAY_OIDC_CLIENT_ID must be set with the OIDC issuer")
        return self

    @property
    def private_key_path(self) -> Path:
        return self.private_key_file or self.common.private_key_path

    @property
    def secure_cookies(self) -> bool:
        return self.tls if self.tls is not None else self.common.env == "prod"

    def upstream(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")
