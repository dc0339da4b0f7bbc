"""The web client: server-rendered pages (Jinja2) over the services' internal APIs.

``router`` holds every page; ``install(app)`` adds it, the static files and the handlers of
sign-in redirects and refused forms. The modules ``alerts``, ``repositories``, ``admin`` and
``statistics`` add their pages when present.
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from services.gateway.web import pages, session
from services.gateway.web.core import HERE, install_handlers

router = APIRouter(include_in_schema=False)
router.include_router(session.router)
router.include_router(pages.router)
for _name in ("alerts", "repositories", "admin", "statistics"):
    try:
        _module = importlib.import_module(f"services.gateway.web.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"services.gateway.web.{_name}":
            raise
        continue
    router.include_router(_module.router)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    install_handlers(app)
    app.include_router(router)
