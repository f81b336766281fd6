"""The console as a sub-application of the API app, mounted at ``/console``: its own error
pages, its session cookie opened before a page and written after it, the portal's security
headers on every answer, a CSRF check on every POST, and local static files only.

Each module of ``pages/`` is a page group with its own ``router``; all are included here.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from carprivacy.bootstrap import Services
from carprivacy.entrypoints.web.console import pages
from carprivacy.entrypoints.web.console.context import (
    PREFIX,
    check_form,
    cookie_name,
    sessions_of,
)
from carprivacy.entrypoints.web.console.errors import register_page_errors
from carprivacy.entrypoints.web.portal import add_session_layer

STATIC = Path(__file__).parent / "static"


def create_console(services: Services) -> FastAPI:
    console = FastAPI(
        docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(check_form)]
    )
    console.state.services = services
    register_page_errors(console)
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    for mod in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        console.include_router(importlib.import_module(f"{pages.__name__}.{mod.name}").router)

    add_session_layer(console, PREFIX, sessions_of, cookie_name)
    return console


def mount_console(app: FastAPI, services: Services) -> None:
    app.mount(PREFIX, create_console(services), name="console")
