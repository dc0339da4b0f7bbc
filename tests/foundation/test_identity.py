"""The identity token's reuse: the gateway signs one token per identity and period, and a
service verifies a token once, refusing it again once it has expired."""

from __future__ import annotations

import uuid

import pytest

from shared.identity import (
    Identity,
    IdentitySigner,
    IdentityVerifier,
    InvalidIdentity,
    Role,
    generate_private_key_pem,
    public_key_pem,
)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def officer(country: str = "pt") -> Identity:
    return Identity(
        user_id=uuid.uuid4(),
        username=f"{country}-officer",
        country=country,
        roles=(Role(name="request_handler"),),
        language=country,
    )


@pytest.fixture
def keys() -> tuple[bytes, bytes]:
    private = generate_private_key_pem()
    return private, public_key_pem(private)


class TestSignerReuse:
    def test_the_same_identity_gets_the_same_token_for_half_its_lifetime(
        self, keys: tuple[bytes, bytes]
    ) -> None:
        clock = Clock()
        signer = IdentitySigner(keys[0], ttl=300, clock=clock)
        who = officer()
        first = signer.token(who)
        clock.now += 149
        assert signer.token(who) == first
        clock.now += 2  # less than half of the lifetime left: a new token
        second = signer.token(who)
        assert second != first
        verifier = IdentityVerifier(keys[1], clock=clock)
        assert verifier.verify(second) == who

    def test_each_identity_has_its_own_token(self, keys: tuple[bytes, bytes]) -> None:
        clock = Clock()
        signer = IdentitySigner(keys[0], clock=clock)
        verifier = IdentityVerifier(keys[1], clock=clock)
        pt, de = officer("pt"), officer("de")
        assert signer.token(pt) != signer.token(de)
        assert verifier.verify(signer.token(pt)).country == "pt"
        assert verifier.verify(signer.token(de)).country == "de"


class TestVerifierMemory:
    def test_a_verified_token_is_refused_once_it_has_expired(
        self, keys: tuple[bytes, bytes]
    ) -> None:
        clock = Clock()
        signer = IdentitySigner(keys[0], ttl=60, clock=clock)
        verifier = IdentityVerifier(keys[1], leeway=5, clock=clock)
        token = signer.token(officer())
        assert verifier.verify(token).username == "pt-officer"
        clock.now += 65  # expiry + leeway: still accepted, as joserfc's own check would
        assert verifier.verify(token).username == "pt-officer"
        clock.now += 1
        with pytest.raises(InvalidIdentity, match="expired"):
            verifier.verify(token)
        with pytest.raises(InvalidIdentity):  # and again, now through the full check
            verifier.verify(token)

    def test_a_token_first_seen_after_its_expiry_is_refused(
        self, keys: tuple[bytes, bytes]
    ) -> None:
        clock = Clock()
        token = IdentitySigner(keys[0], ttl=60, clock=clock).token(officer())
        clock.now += 120
        with pytest.raises(InvalidIdentity):
            IdentityVerifier(keys[1], clock=clock).verify(token)

    def test_a_forged_token_is_refused_every_time(self, keys: tuple[bytes, bytes]) -> None:
        clock = Clock()
        forged = IdentitySigner(generate_private_key_pem(), clock=clock).token(officer())
        verifier = IdentityVerifier(keys[1], clock=clock)
        for _ in range(3):
            with pytest.raises(InvalidIdentity):
                verifier.verify(forged)

    def test_a_token_changed_after_signing_is_refused_though_the_original_was_verified(
        self, keys: tuple[bytes, bytes]
    ) -> None:
        clock = Clock()
        token = IdentitySigner(keys[0], clock=clock).token(officer())
        verifier = IdentityVerifier(keys[1], clock=clock)
        verifier.verify(token)
        header, payload, signature = token.split(".")
        altered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
        with pytest.raises(InvalidIdentity):
            verifier.verify(altered)
