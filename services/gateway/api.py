"""The public REST API /api/v1: sign-in, me, and forwarding by the resource map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from services.gateway.deps import (
    CallerDep,
    SessionDep,
    SettingsDep,
    UpstreamsDep,
    client_address,
    presented_token,
)
from services.gateway.domain import owner_of
from services.gateway.ratelimit import check_sign_in
from services.gateway.repository import SignInRepository
from services.gateway.schemas import AccessToken, Me
from services.gateway.service import sign_in, sign_out
from shared.problems import NotFound

router = APIRouter(prefix="/api/v1")


@router.post("/auth/token", tags=["sign-in"])
async def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    upstreams: UpstreamsDep,
) -> AccessToken:
    """OAuth2 password flow for API clients: user name and password for a bearer token."""
    check_sign_in(request.app.state.signin_buckets, client_address(request))
    token, _ = await sign_in(
        SignInRepository(session),
        upstreams,
        settings,
        username=form.username,
        password=form.password,
        client=client_address(request),
        kind="api",
    )
    return AccessToken(access_token=token, expires_in=settings.api_token_minutes * 60)


@router.post("/auth/revoke", tags=["sign-in"], status_code=204)
async def revoke_token(request: Request, session: SessionDep, caller: CallerDep) -> Response:
    """Sign out: the presented token stops working at once."""
    token = presented_token(request)
    if token:
        await sign_out(SignInRepository(session), token)
    return Response(status_code=204)


@router.get("/me", tags=["me"])
async def me(caller: CallerDep) -> Me:
    record, identity = caller
    return Me(
        user_id=identity.user_id,
        username=identity.username,
        display_name=record.display_name,
        authority_id=identity.authority_id,
        country=identity.country,
        region=identity.region,
        roles=list(identity.roles),
        language=identity.language,
    )


@router.api_route(
    "/{path:path}",
    methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
    tags=["resources"],
    summary="Resources of the network (DESIGN.md §3), answered by the service that owns them",
)
async def forward(
    path: str, request: Request, caller: CallerDep, upstreams: UpstreamsDep
) -> Response:
    service = owner_of(path)
    if service is None:
        raise NotFound(f"no resource at /api/v1/{path}")
    _, identity = caller
    return await upstreams.forward(service, path, request, identity)
