"""The gateway's short cache of live sessions: never serves an expired or forgotten session."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.gateway.models import SignInSession
from services.gateway.service import SessionCache


def session(expires_at: datetime) -> SignInSession:
    return SignInSession(
        token_hash="h",
        kind="api",
        user_id=uuid.uuid4(),
        username="pt-officer",
        display_name="Officer",
        language="pt",
        roles=[],
        csrf_token="c",
        expires_at=expires_at,
    )


def test_a_live_session_is_served_until_its_time_in_the_cache_ends() -> None:
    now = datetime.now(UTC)
    cache = SessionCache(ttl=60)
    record = session(now + timedelta(hours=1))
    cache.put("k", record)
    assert cache.get("k", now) is record
    assert cache.get("other", now) is None
    cache.ttl = 0
    assert cache.get("k", now) is None


def test_an_expired_session_is_never_served() -> None:
    now = datetime.now(UTC)
    cache = SessionCache(ttl=60)
    cache.put("k", session(now + timedelta(seconds=1)))
    assert cache.get("k", now + timedelta(seconds=2)) is None


def test_a_dropped_session_is_gone_and_the_cache_is_bounded() -> None:
    now = datetime.now(UTC)
    cache = SessionCache(ttl=60, max_entries=3)
    for n in range(10):
        cache.put(f"k{n}", session(now + timedelta(hours=1)))
    assert len(cache._entries) <= 3
    cache.put("gone", session(now + timedelta(hours=1)))
    cache.drop("gone")
    assert cache.get("gone", now) is None
