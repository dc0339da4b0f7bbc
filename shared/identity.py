"""The gateway's identity token: a short-lived EdDSA JWT that every service verifies itself.

The gateway signs who is acting (user, authority, country, roles, language); a service trusts no
plain header, only a token whose signature, issuer, audience and expiry check out.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, HTTPException, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from joserfc.jwt import JWTClaimsRegistry
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.settings import CommonSettings, ConfigurationError

# RFC 9864 names the fully specified EdDSA algorithm; "EdDSA" alone is deprecated.
ALGORITHM = "Ed25519"
AUDIENCE = "imi-services"
DEFAULT_TTL_SECONDS = 300
# How many identities' tokens the signer keeps for reuse, and how many verified tokens a
# service keeps; beyond that the least recently used one is dropped.
TOKEN_CACHE_SIZE = 10_000
K = TypeVar("K")
V = TypeVar("V")


class RoleName(StrEnum):
    """Roles of the network (DESIGN.md §1, directory issue); a role may be limited to an area."""

    REQUEST_HANDLER = "request_handler"
    REQUEST_ALLOCATOR = "request_allocator"
    ALERT_HANDLER = "alert_handler"
    ALERT_COORDINATOR = "alert_coordinator"
    LOCAL_DATA_ADMINISTRATOR = "local_data_administrator"
    SUPERVISOR = "supervisor"
    READ_ONLY = "read_only"
    # One per country; registers and validates authorities and users of the whole country.
    NATIONAL_COORDINATOR = "national_coordinator"
    # Scoped to a legislative area (``area``) or a region (``region``) of the country.
    DELEGATED_COORDINATOR = "delegated_coordinator"
    COMMISSION = "commission"
    # Sees blocked personal data, only with a recorded justification.
    DATA_PROTECTION_ADMINISTRATOR = "data_protection_administrator"
    # The gateway itself, for calls made before a user is known (verifying credentials).
    GATEWAY = "gateway"


class Role(BaseModel):
    """A role held by a user, optionally limited to a legislative area or a region."""

    model_config = ConfigDict(frozen=True)

    name: str
    area: str | None = None
    region: str | None = None


class Identity(BaseModel):
    """Who is acting, as the gateway vouches for it."""

    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    username: str
    authority_id: uuid.UUID | None = None
    country: str | None = None
    roles: tuple[Role, ...] = ()
    language: str = "en"
    region: str | None = None

    def has_role(self, name: str, area: str | None = None) -> bool:
        """True when the user holds ``name`` for ``area``; a role without area covers all."""
        return any(
            role.name == name and (role.area is None or area is None or role.area == area)
            for role in self.roles
        )

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(role.name for role in self.roles)


def generate_private_key_pem() -> bytes:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def ensure_dev_keypair(settings: CommonSettings) -> None:
    """In development, create the gateway's key pair under the state directory once."""
    if settings.env == "prod":
        raise ConfigurationError("key pairs are generated only in development")
    private_path, public_path = settings.private_key_path, settings.public_key_path
    if private_path.exists() and public_path.exists():
        return
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_pem = generate_private_key_pem()
    private_path.write_bytes(private_pem)
    private_path.chmod(0o600)
    public_path.write_bytes(public_key_pem(private_pem))


class _Recent(OrderedDict[K, V]):
    """At most ``TOKEN_CACHE_SIZE`` entries; beyond that the least recently used one goes."""

    def recall(self, key: K) -> V | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > TOKEN_CACHE_SIZE:
            self.popitem(last=False)


class IdentitySigner:
    """Signs identity tokens; only the gateway holds the private key."""

    def __init__(
        self,
        private_pem: bytes,
        *,
        issuer: str = "imi-gateway",
        ttl: int = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = OKPKey.import_key(private_pem)
        self.issuer = issuer
        self.ttl = ttl
        self._clock = clock
        self._issued: _Recent[Identity, tuple[str, float]] = _Recent()

    def sign(self, identity: Identity, *, now: float | None = None) -> str:
        issued = int(now if now is not None else self._clock())
        claims = identity.model_dump(mode="json")
        claims.update(
            sub=str(identity.user_id),
            iss=self.issuer,
            aud=AUDIENCE,
            iat=issued,
            exp=issued + self.ttl,
            jti=str(uuid.uuid4()),
        )
        return jwt.encode(
            {"alg": ALGORITHM, "typ": "JWT"}, claims, self._key, algorithms=[ALGORITHM]
        )

    def token(self, identity: Identity) -> str:
        """A token for ``identity`` with at least half its lifetime left: the one signed for
        the same identity earlier while it has, a new one after. One token per identity and
        period instead of one per call: the gateway signs once, and each service verifies it
        once (``IdentityVerifier`` keeps what it verified)."""
        now = self._clock()
        held = self._issued.recall(identity)
        if held is not None and held[1] - now >= self.ttl / 2:
            return held[0]
        issued = int(now)
        token = self.sign(identity, now=issued)
        self._issued.keep(identity, (token, issued + self.ttl))
        return token


class InvalidIdentity(Exception):
    """The token is missing, forged, expired or malformed."""


class IdentityVerifier:
    """Verifies identity tokens with the gateway's public key.

    A token that verified is kept with its expiry: the same token again is checked against the
    clock only, not against the signature again (the same bytes verify the same way). An expired
    one is refused as on its first use."""

    def __init__(
        self,
        public_pem: bytes,
        *,
        issuer: str = "imi-gateway",
        leeway: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = OKPKey.import_key(public_pem)
        self._leeway = leeway
        self._clock = clock
        self._claims = JWTClaimsRegistry(
            now=lambda: int(clock()),
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
            sub={"essential": True},
        )
        self._verified: _Recent[str, tuple[Identity, float]] = _Recent()

    def verify(self, token: str) -> Identity:
        held = self._verified.recall(token)
        if held is not None:
            identity, expires = held
            if self._clock() <= expires + self._leeway:
                return identity
            del self._verified[token]
            raise InvalidIdentity("the token has expired")
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            self._claims.validate(decoded.claims)
            identity = Identity.model_validate(decoded.claims)
            expires = float(decoded.claims["exp"])
        except (JoseError, ValueError, TypeError, ValidationError) as exc:
            raise InvalidIdentity(str(exc) or type(exc).__name__) from exc
        self._verified.keep(token, (identity, expires))
        return identity

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> IdentityVerifier:
        if settings.identity_public_key:
            pem = settings.identity_public_key.encode()
        else:
            if settings.env != "prod" and settings.identity_public_key_file is None:
                ensure_dev_keypair(settings)
            path: Path = settings.public_key_path
            if not path.exists():
                raise ConfigurationError(f"identity public key not found at {path}")
            pem = path.read_bytes()
        return cls(pem, issuer=settings.identity_issuer)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=401, detail=detail, headers={"WWW-Authenticate": 'Bearer realm="imi"'}
    )


def require_identity(request: Request) -> Identity:
    """FastAPI dependency: the verified identity of the caller, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("an identity token is required")
    verifier: IdentityVerifier = request.app.state.identity_verifier
    try:
        identity = verifier.verify(token.strip())
    except InvalidIdentity as exc:
        raise _unauthorized("the identity token is not valid") from exc
    request.state.identity = identity
    return identity


IdentityDep = Annotated[Identity, Depends(require_identity)]
