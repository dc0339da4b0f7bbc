"""Dependency aliases of the exchange service's routes."""

from shared.identity import IdentityDep
from shared.web import SessionDep

__all__ = ["IdentityDep", "SessionDep"]
