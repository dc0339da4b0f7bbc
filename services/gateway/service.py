"""Use cases of the gateway: sign in, authenticate a caller, sign out."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from services.gateway.domain import LoginPolicy, locked_until
from services.gateway.models import SignInSession
from services.gateway.repository import SignInRepository
from services.gateway.settings import GatewaySettings
from services.gateway.upstream import GATEWAY_IDENTITY, Upstreams
from shared.identity import Identity, Role
from shared.problems import DomainError


class InvalidCredentials(DomainError):
    status = 401
    slug = "invalid-credentials"
    title = "Wrong user name or password"


class SignInLocked(DomainError):
    status = 429
    slug = "sign-in-locked"
    title = "Too many failed sign-ins"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_policy(settings: GatewaySettings) -> LoginPolicy:
    return LoginPolicy(
        max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
        lockout=timedelta(minutes=settings.login_lockout_minutes),
    )


async def sign_in(
    repository: SignInRepository,
    upstreams: Upstreams,
    settings: GatewaySettings,
    *,
    username: str,
    password: str,
    client: str,
    kind: str,
    now: datetime | None = None,
) -> tuple[str, SignInSession]:
    """Check the credentials with the directory and open a session; returns (token, session)."""
    now = now or datetime.now(UTC)
    username = username.strip().lower()
    policy = login_policy(settings)
    failures = await repository.failures_since(username, now - policy.window - policy.lockout)
    if (until := locked_until(failures, now, policy)) is not None:
        seconds = max(1, int((until - now).total_seconds()))
        raise SignInLocked(
            f"sign-in for this user is locked for {seconds} s after repeated failures",
            extra={"retry_after": seconds},
        )
    response = await upstreams.call(
        "directory",
        "POST",
        "credentials/verify",
        GATEWAY_IDENTITY,
        json={"username": username, "password": password},
    )
    if response.status_code != 200:
        await repository.record_attempt(username, client, succeeded=False)
        raise InvalidCredentials("the user name or the password is wrong")
    await repository.record_attempt(username, client, succeeded=True)
    return await open_session(repository, settings, response.json(), kind=kind, now=now)


async def sign_in_federated(
    repository: SignInRepository,
    upstreams: Upstreams,
    settings: GatewaySettings,
    *,
    username: str,
    client: str,
    kind: str,
) -> tuple[str, SignInSession]:
    """Open a session for the user an identity provider vouched for (a verified ID token)."""
    response = await upstreams.call(
        "directory",
        "POST",
        "credentials/federated",
        GATEWAY_IDENTITY,
        json={"username": username},
    )
    if response.status_code != 200:
        await repository.record_attempt(username, client, succeeded=False)
        raise InvalidCredentials("the identity provider's user is not an active user of IMI")
    await repository.record_attempt(username, client, succeeded=True)
    return await open_session(repository, settings, response.json(), kind=kind)


async def open_session(
    repository: SignInRepository,
    settings: GatewaySettings,
    found: dict[str, Any],
    *,
    kind: str,
    now: datetime | None = None,
) -> tuple[str, SignInSession]:
    """A new session for the directory's user and authority (``found``)."""
    now = now or datetime.now(UTC)
    user, authority = found["user"], found.get("authority") or {}
    minutes = settings.web_session_minutes if kind == "web" else settings.api_token_minutes
    token = secrets.token_urlsafe(32)
    record = SignInSession(
        token_hash=token_hash(token),
        kind=kind,
        user_id=user["id"],
        username=user["username"],
        display_name=user.get("display_name") or user["username"],
        authority_id=user.get("authority_id"),
        country=user.get("country"),
        region=authority.get("region"),
        language=user.get("language") or "en",
        roles=[
            {"name": r["name"], "area": r.get("area"), "region": r.get("region")}
            for r in user.get("roles", [])
        ],
        csrf_token=secrets.token_urlsafe(24),
        expires_at=now + timedelta(minutes=minutes),
    )
    await repository.add_session(record)
    return token, record


class SessionCache:
    """Live sessions looked up in the last ``ttl`` seconds: a busy client costs no query a call.

    Per gateway process: a sign-out here takes effect here at once; on another replica of the
    gateway within ``ttl`` seconds. An expired session is never served from it.
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, SignInSession]] = {}

    def get(self, key: str, now: datetime) -> SignInSession | None:
        found = self._entries.get(key)
        if found is None:
            return None
        seen, record = found
        if time.monotonic() - seen > self.ttl or record.expires_at <= now:
            self._entries.pop(key, None)
            return None
        return record

    def put(self, key: str, record: SignInSession) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), record)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)


SESSIONS = SessionCache()


async def authenticate(
    repository: SignInRepository, token: str, now: datetime | None = None
) -> SignInSession | None:
    now = now or datetime.now(UTC)
    key = token_hash(token)
    if (cached := SESSIONS.get(key, now)) is not None:
        return cached
    record = await repository.live_session(key, now)
    if record is None:
        return None
    # A transient copy: the loaded instance expires with its database session (a rollback
    # expires everything), the copy is plain values that later requests can read.
    columns = SignInSession.__table__.columns
    snapshot = SignInSession(**{column.key: getattr(record, column.key) for column in columns})
    SESSIONS.put(key, snapshot)
    return snapshot


async def sign_out(repository: SignInRepository, token: str) -> None:
    SESSIONS.drop(token_hash(token))
    await repository.revoke(token_hash(token), datetime.now(UTC))


def identity_of(record: SignInSession, language: str | None = None) -> Identity:
    return Identity(
        user_id=record.user_id,
        username=record.username,
        authority_id=record.authority_id,
        country=record.country,
        region=record.region,
        roles=tuple(Role(**role) for role in record.roles),
        language=language or record.language,
    )
