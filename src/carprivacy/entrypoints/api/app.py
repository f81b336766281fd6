"""The FastAPI app factory: routes over the services the composition root built."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from carprivacy import __version__
from carprivacy.bootstrap import Services, bootstrap, with_admin_token
from carprivacy.config import load_settings
from carprivacy.entrypoints.api import heap, routes
from carprivacy.entrypoints.api.api_docs import serve_api_docs
from carprivacy.entrypoints.api.errors import register_error_handlers
from carprivacy.entrypoints.api.request_body import BodyLimits, RequestBodyLayer
from carprivacy.entrypoints.web.console.app import mount_console
from carprivacy.entrypoints.web.portal import mount_portal
from carprivacy.services.ingestion.grouping import GroupedIngest


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The server's own background work: the CarData stream's reconciler, when configured."""
    stream = app.state.services.cardata_stream
    if stream is not None:
        stream.start()
    try:
        yield
    finally:
        if stream is not None:
            stream.stop()


def create_app(services: Services | None = None) -> FastAPI:
    """The app over ``services`` (default: :func:`~carprivacy.bootstrap.bootstrap` with the
    settings in force)."""
    app = FastAPI(
        title="carprivacy",
        version=__version__,
        description="Connected-car data platform; every read names its purpose.",
        docs_url=None,  # served by serve_api_docs, without a CDN
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.services = services or bootstrap()
    settings = app.state.services.settings
    # concurrent telemetry uploads of this process, joined into one ingestion call each turn
    app.state.grouped_ingest = GroupedIngest(
        app.state.services.ingest,
        app.state.services.vehicle_credentials,
        turn_records=settings.ingest_turn_records,
        queue_records=settings.ingest_queue_records,
    )
    limits = BodyLimits(
        public=settings.max_public_body_bytes,
        authenticated=max(settings.max_body_bytes, settings.max_payload_bytes),
    )
    app.add_middleware(RequestBodyLayer, limits=limits)
    register_error_handlers(app)
    serve_api_docs(app)
    # the ingestion route first: it takes most requests, and routes are matched in order
    first = ("telemetry",)
    modules = pkgutil.iter_modules(routes.__path__)
    for mod in sorted(modules, key=lambda m: (m.name not in first, m.name)):
        module = importlib.import_module(f"{routes.__name__}.{mod.name}")
        app.include_router(module.router)
    mount_portal(app, app.state.services)  # the customer's web pages under /portal
    mount_console(app, app.state.services)  # the privacy officer's console under /console
    return app


def create_served_app() -> FastAPI:
    """The app of one ``carprivacy serve --workers N`` process: the settings in force (the
    environment) with the administrator token the parent process kept in the data directory.
    Every process builds its own services; what they share lives in the database."""
    settings, _file, _created = with_admin_token(load_settings())
    app = create_app(bootstrap(settings))
    heap.settle()
    return app
