"""HTTP edge shared by every service: problem+json, health, readiness, metrics, correlation id."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import json_codec
from shared.db import Database
from shared.logging import CORRELATION_HEADER, bind_correlation_id, get_logger
from shared.problems import DomainError, problem_type

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class JSONBody(JSONResponse):
    """A JSON answer encoded by ``shared.json_codec`` (the same bytes as Starlette's, faster)."""

    def render(self, content: Any) -> bytes:
        return json_codec.dumps(content)


http_requests = Counter(
    "imi_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
http_latency = Histogram(
    "imi_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5),
)


def problem(
    status: int,
    title: str,
    *,
    slug: str,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": problem_type(slug), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error leaves as application/problem+json naming the failing field; never a trace."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem(
            exc.status,
            exc.title,
            slug=exc.slug,
            detail=exc.detail,
            instance=request.url.path,
            errors=exc.errors,
            headers={"Retry-After": str(exc.extra["retry_after"])}
            if "retry_after" in exc.extra
            else None,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(err.get("loc", ())), "message": err.get("msg", "invalid")}
            for err in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        return problem(
            422,
            "The input is not valid",
            slug="invalid-input",
            detail=f"invalid value in: {fields}",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {401: "Not authenticated", 404: "Not found", 405: "Method not allowed"}
        slugs = {401: "unauthenticated", 404: "not-found", 405: "method-not-allowed"}
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "Request failed"),
            slug=slugs.get(exc.status_code, "http-error"),
            detail=str(exc.detail) if exc.detail else None,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem(
            500,
            "Internal error",
            slug="internal",
            detail="the error was logged; quote the correlation id when reporting it",
            instance=request.url.path,
        )


class ObservabilityMiddleware:
    """Pure ASGI: binds the correlation id, echoes it, and records request metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-correlation-id":
                incoming = value.decode("latin-1")[:128]
                break
        correlation_id = bind_correlation_id(incoming)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.lower().encode(), correlation_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            http_latency.labels(self.service, method, template).observe(
                time.perf_counter() - started
            )
            http_requests.labels(self.service, method, template, str(status)).inc()


def install_health_routes(app: FastAPI, readiness: Callable[[], Awaitable[dict[str, str]]]) -> None:
    """``/healthz`` (alive), ``/readyz`` (dependencies answer), ``/metrics`` (Prometheus)."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def request_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed before the response leaves, rolled back on error."""
    db: Database = request.app.state.db
    async with db.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(request_transaction, scope="function")]
