"""The `smshub` command line (API.md: Command line)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.config import Settings, get_settings
from smshub.kit.db import create_engine, session_factory, unit_of_work
from smshub.kit.errors import SmshubError
from smshub.kit.migrate import upgrade

app = typer.Typer(help="smshub: the SMS/MMS hub for cloud PBX.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (companies).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(apikey_app, name="apikey")
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


class Only(StrEnum):
    web = "web"
    worker = "worker"
    smtp = "smtp"


def _in_transaction(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with unit_of_work(session_factory(engine)) as session:
                return await fn(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except SmshubError as exc:
        err.print(f"[red]error:[/red] {exc.message}" + (f" ({exc.field})" if exc.field else ""))
        raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    settings = get_settings()
    upgrade(settings.database_url)
    err.print("database is up to date")


@tenant_app.command("create")
def tenant_create(
    name: str,
    admin_extension: Annotated[str, typer.Option(help="Extension of the first admin.")],
    admin_name: Annotated[str, typer.Option(help="Name of the first admin.")],
    admin_password: Annotated[str, typer.Option(help="Password of the first admin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a tenant with its first admin extension and an API key."""
    from smshub.auth import service

    settings = get_settings()
    upgrade(settings.database_url)
    tenant, user, key = _in_transaction(
        settings,
        lambda s: service.create_tenant(
            s,
            name,
            admin_extension=admin_extension,
            admin_name=admin_name,
            admin_password=admin_password,
        ),
    )
    out = {"tenant_id": tenant.id, "user_id": user.id, "api_key": key}
    typer.echo(json.dumps(out) if as_json else f"tenant {tenant.id} ({tenant.slug})\napi key {key}")


@apikey_app.command("create")
def apikey_create(
    tenant_id: Annotated[str, typer.Option(help="Tenant id.")],
    extension: Annotated[str, typer.Option(help="Extension that owns the key.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an API key for an extension."""
    from smshub.auth import service

    settings = get_settings()
    key = _in_transaction(settings, lambda s: service.create_api_key(s, tenant_id, extension))
    typer.echo(json.dumps({"api_key": key}) if as_json else key)


@app.command()
def serve(
    demo: Annotated[bool, typer.Option(help="Seed and print the demo tenant.")] = False,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    only: Annotated[Only | None, typer.Option(help="Run one role (scale-out).")] = None,
) -> None:
    """Run the hub: web/API and workers in one process, or one role with --only."""
    import uvicorn

    from smshub.app import create_app

    settings = get_settings()
    upgrade(settings.database_url)
    if only is Only.smtp:
        from smshub.mail.inbound import run_smtp

        asyncio.run(run_smtp(settings))
        return
    if demo:
        from smshub.demo import seed_demo

        login = _in_transaction(settings, seed_demo)
        url = f"http://{host or settings.host}:{port or settings.port}/login"
        err.print(
            f"[bold]Demo login[/bold] {url}  company: [cyan]{login.company}[/cyan]  "
            f"extension: [cyan]{login.extension}[/cyan]  password: [cyan]{login.password}[/cyan]"
        )
    if only is Only.worker:
        from smshub.worker import configure_logging, run_worker

        configure_logging()
        asyncio.run(run_worker(settings))
        return
    application = create_app(settings, workers=only is None, smtp=only is None)
    _tune_gc()
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) or 1,
        log_level="info",
        access_log=settings.access_log,
        # Longer than any stall under load, so a kept-alive connection is not closed
        # while the client is sending its next request.
        timeout_keep_alive=75,
    )


def _tune_gc() -> None:
    """Move what startup made (modules, routes, models) out of the collector's view and
    collect young objects less often: each message allocates thousands of short-lived
    objects, and full collections walking the whole heap showed as latency spikes."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def main() -> None:
    app()
