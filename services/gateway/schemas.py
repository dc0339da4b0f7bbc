"""Models of the gateway's own public API."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from shared.identity import Role


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    user_id: UUID
    username: str
    display_name: str
    authority_id: UUID | None
    country: str | None
    region: str | None
    roles: list[Role]
    language: str
