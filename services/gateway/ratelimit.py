"""Rate limits of the gateway: sign-in attempts per client address, API calls per caller.

Token buckets held by each gateway replica (a cluster of N replicas admits at most N times the
rate; the per-user lockout of ``domain.locked_until`` is shared, in the database). A bucket
refills at ``rate`` per second up to ``burst``; a call that finds it empty is answered 429 with
Retry-After. The least recently seen keys are forgotten beyond ``max_keys``, so memory is bounded.

``RateLimitMiddleware`` limits ``/api/v1/...`` per presented token (per address without one);
sign-in (``POST /login``, ``POST /api/v1/auth/token``) is limited per client address by
``SignInLimited`` raised from the sign-in routes, so the web form shows its own page.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.security import send_problem
from shared.problems import DomainError


class SignInLimited(DomainError):
    status = 429
    slug = "sign-in-rate-limited"
    title = "Too many sign-in attempts from this address"


class TokenBuckets:
    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when the call may go on (a token taken), else the seconds until one is free."""
        now = self.clock()
        tokens, seen = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - seen) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def check_sign_in(buckets: TokenBuckets, address: str) -> None:
    wait = buckets.take(address)
    if wait:
        seconds = max(1, math.ceil(wait))
        raise SignInLimited(
            f"too many sign-in attempts from this address; try again in {seconds} s",
            extra={"retry_after": seconds},
        )


class RateLimitMiddleware:
    """429 problem+json for an API caller over its rate; pages and static files are not counted."""

    def __init__(self, app: ASGIApp, *, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith("/api/v1/")
            or path == "/api/v1/auth/token"
            or path.startswith("/api/v1/openapi")
            or path.startswith("/api/v1/docs")
        ):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(_caller_key(scope))
        if not wait:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        await send_problem(
            send,
            429,
            "rate-limited",
            "Too many requests",
            f"this caller is over its rate limit; try again in {seconds} s",
            instance=path,
            headers=[(b"retry-after", str(seconds).encode())],
        )


def _caller_key(scope: Scope) -> str:
    headers = dict(scope.get("headers", []))
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "t:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "imi_session" and value:
            return "t:" + hashlib.sha256(value.encode()).hexdigest()[:32]
    return "a:" + client_address(scope)
