"""Domain errors that carry their HTTP status and problem type (RFC 9457); pure, no I/O."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a use case may raise; the edge maps it to application/problem+json."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "The request cannot be processed"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.errors = errors or ([{"field": field, "message": detail}] if field else [])
        self.extra = extra or {}

    @property
    def type_uri(self) -> str:
        return problem_type(self.slug)


def problem_type(slug: str) -> str:
    return f"urn:imi:problem:{slug}"


class InvalidInput(DomainError):
    status = 422
    slug = "invalid-input"
    title = "The input is not valid"


class NotFound(DomainError):
    """Also raised for what exists but the caller may not see, so existence does not leak."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "The resource's state does not allow this"


class StaleVersion(DomainError):
    status = 412
    slug = "stale-version"
    title = "The resource has changed since you read it"


class Forbidden(DomainError):
    """For actions on something the caller may see but not change."""

    status = 403
    slug = "forbidden"
    title = "You may not do this"
