"""Pure rules of the gateway: sign-in throttling and where each public resource lives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# The public resource map (DESIGN.md §3): first path segment under /api/v1 → owning service.
RESOURCE_OWNERS: dict[str, str] = {
    "authorities": "directory",
    "users": "directory",
    "countries": "directory",
    "catalogue": "translation",
    "render": "translation",
    "requests": "exchange",
    "statistics": "exchange",
    "alerts": "alerts",
    "repositories": "repository",
}


def owner_of(path: str) -> str | None:
    """The service that owns ``path`` (the part after /api/v1/), or None."""
    head = path.strip("/").split("/", 1)[0]
    return RESOURCE_OWNERS.get(head)


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    window: timedelta
    lockout: timedelta


def locked_until(
    failures: Sequence[datetime], now: datetime, policy: LoginPolicy
) -> datetime | None:
    """When ``max_failures`` failures fell within ``window``, the account stays locked for
    ``lockout`` after the last of them; None when sign-in may be tried."""
    recent = sorted(at for at in failures if now - at <= policy.window + policy.lockout)
    for index in range(len(recent) - policy.max_failures + 1):
        first, last = recent[index], recent[index + policy.max_failures - 1]
        if last - first <= policy.window and now < last + policy.lockout:
            return last + policy.lockout
    return None
