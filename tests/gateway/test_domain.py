"""Pure rules of the gateway: sign-in lockout and the resource map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.gateway.domain import LoginPolicy, locked_until, owner_of

POLICY = LoginPolicy(max_failures=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def minutes_ago(*values: float) -> list[datetime]:
    return [NOW - timedelta(minutes=v) for v in values]


class TestLockout:
    def test_four_failures_do_not_lock(self) -> None:
        assert locked_until(minutes_ago(1, 2, 3, 4), NOW, POLICY) is None

    def test_five_failures_within_the_window_lock_until_lockout_after_the_last(self) -> None:
        failures = minutes_ago(10, 8, 6, 4, 2)
        assert locked_until(failures, NOW, POLICY) == NOW - timedelta(minutes=2) + POLICY.lockout

    def test_five_failures_spread_over_more_than_the_window_do_not_lock(self) -> None:
        assert locked_until(minutes_ago(29, 22, 15, 8, 1), NOW, POLICY) is None

    def test_lock_ends_after_the_lockout(self) -> None:
        assert locked_until(minutes_ago(20, 19, 18, 17, 16), NOW, POLICY) is None

    @given(st.lists(st.floats(min_value=0, max_value=120), max_size=12))
    def test_lock_never_outlasts_lockout_after_the_latest_failure(
        self, offsets: list[float]
    ) -> None:
        failures = minutes_ago(*offsets)
        until = locked_until(failures, NOW, POLICY)
        if until is not None:
            assert until > NOW
            assert until <= max(failures) + POLICY.lockout
            assert len(failures) >= POLICY.max_failures


class TestResourceMap:
    def test_each_resource_goes_to_its_owner(self) -> None:
        assert owner_of("authorities") == "directory"
        assert owner_of("authorities/123/users") == "directory"
        assert owner_of("catalogue/procedures/pq_establishment") == "translation"
        assert owner_of("requests/1/accept") == "exchange"
        assert owner_of("alerts") == "alerts"
        assert owner_of("repositories/registers/records") == "repository"

    def test_unknown_resource_has_no_owner(self) -> None:
        assert owner_of("secrets") is None
        assert owner_of("") is None
