"""The ASGI application: REST API, admin web pages, and (unless --only web) the workers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from smshub.auth.endpoints import router as auth_router
from smshub.billing.endpoints import router as billing_router
from smshub.campaigns.endpoints import router as campaigns_router
from smshub.carriers.endpoints import router as connectors_router
from smshub.carriers.http.endpoints import router as carrier_webhooks_router
from smshub.carriers.metrics import metrics_endpoint
from smshub.carriers.simulator.endpoints import router as simulator_router
from smshub.carriers.smpp.registry import links as smpp_links
from smshub.compliance.endpoints import router as blocklist_router
from smshub.config import Settings, get_settings
from smshub.contacts.endpoints import router as contacts_router
from smshub.forwarding.endpoints import router as forwarding_router
from smshub.groups.endpoints import router as groups_router
from smshub.kit import http_errors, routing
from smshub.kit.db import create_engine, session_factory
from smshub.kit.deps import document_auth
from smshub.kit.jobwake import JobWakeListener, create_job_wake
from smshub.kit.outbox import session_info
from smshub.lists.endpoints import router as lists_router
from smshub.messaging.batcher import inbound_batcher, send_batcher
from smshub.messaging.endpoints import router as messaging_router
from smshub.numbers.endpoints import router as numbers_router
from smshub.realtime.endpoints import router as events_router
from smshub.realtime.hub import create_hub
from smshub.web.routes import router as web_router

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "web" / "static"


@functools.cache
def _shared_routes() -> tuple[BaseRoute, ...]:
    """The API and web routes, built once per process and shared by every app made in it
    (tests make hundreds): including a router copies each route and re-inspects its
    dependencies, ~0.3 s for the whole API. Routes hold no per-app state (no test uses
    dependency_overrides), so sharing them is what `include_router` would build anyway."""
    router = APIRouter()
    router.include_router(api_router())
    router.include_router(web_router)
    return tuple(router.routes)


def api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    routers = (
        auth_router,
        numbers_router,
        groups_router,
        contacts_router,
        messaging_router,
        connectors_router,
        carrier_webhooks_router,
        simulator_router,
        blocklist_router,
        lists_router,
        campaigns_router,
        billing_router,
        events_router,
        forwarding_router,
    )
    for router in routers:
        api.include_router(router)
    return api


def _wake(app: FastAPI) -> None:
    """After a commit that queued jobs: nudge this process's runner, if it has one."""
    if app.state.runner is not None:
        app.state.runner.wake()


async def _start_smtp(settings: Settings, app: FastAPI) -> asyncio.Server | None:
    from smshub.mail.inbound import start_listener

    try:
        return await start_listener(settings, app.state.sessions)
    except OSError as exc:  # the web and workers still serve; the log says why mail won't
        log.error("SMTP listener not started on %s: %s", settings.smtp_listen, exc)
        return None


def create_app(
    settings: Settings | None = None, *, workers: bool = False, smtp: bool = False
) -> FastAPI:
    """Build the app. With `workers`, the job runner runs inside this process; with
    `smtp`, so does the inbound SMTP listener (SMSHUB_SMTP_LISTEN)."""
    settings = settings or get_settings()
    engine = create_engine(settings.database_url)
    hub = create_hub(settings.database_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = None
        wake: JobWakeListener | None = None
        task: asyncio.Task[None] | None = None
        await hub.start()
        if workers:
            from smshub.worker import create_worker

            runner = app.state.runner = create_worker(settings, app.state.sessions)
            wake = create_job_wake(settings.database_url, runner.wake)
            if wake is not None:  # jobs that `--only web` processes queue
                await wake.start()
            task = asyncio.create_task(runner.run())
            await smpp_links.start_all()
        listener = await _start_smtp(settings, app) if smtp else None
        try:
            yield
        finally:
            if listener is not None:
                listener.close()
            await app.state.batcher.stop()
            await app.state.inbound.stop()
            if runner is not None and task is not None:
                await runner.stop(settings.shutdown_grace_s)
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await smpp_links.close_all()
            if wake is not None:
                await wake.stop()
            await hub.stop()
            await engine.dispose()

    app = FastAPI(
        title="smshub",
        version="0.1.0",
        description="Self-hosted SMS/MMS hub for cloud PBX. Authenticate with a Bearer API key.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.hub = hub
    app.state.runner = None
    app.state.sessions = session_factory(engine, info=session_info(hub, lambda: _wake(app)))
    app.state.batcher = send_batcher(app.state.sessions)
    app.state.inbound = inbound_batcher(app.state.sessions)
    http_errors.install(app)
    app.router.routes.extend(_shared_routes())
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    routing.install(app.router)
    document_auth(app)
    return app
