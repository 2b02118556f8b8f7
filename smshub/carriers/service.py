"""Carrier connectors: configuration, the connector a number sends through, and the
Carrier object that does the sending (K1, K4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor, check_admin
from smshub.carriers import metrics, schemas
from smshub.carriers.base import Carrier, CarrierConfigError, CarrierError, SubmitResult
from smshub.carriers.http import registry as http_registry
from smshub.carriers.simulator.carrier import SimulatorCarrier
from smshub.carriers.simulator.config import SimulatorConfig
from smshub.carriers.smpp.carrier import SmppCarrier
from smshub.carriers.smpp.config import SmppConfig
from smshub.carriers.smpp.registry import links
from smshub.kit.cache import cache
from smshub.kit.errors import InvalidInput, NotFound
from smshub.kit.validation import invalid_from
from smshub.models import Connector
from smshub.numbers.schemas import NumberInfo

SECRET_KEYS = frozenset({"password", "auth_token", "api_key", "secret"})


def _check_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    try:
        if kind == "simulator":
            return SimulatorConfig.model_validate(config).model_dump()
        if kind == "smpp":
            return SmppConfig.model_validate(config).model_dump()
        if kind == "http":
            return http_registry.check_config(config)
    except ValidationError as exc:
        err = invalid_from(exc)
        raise InvalidInput(f"config.{err.message}", field=f"config.{err.field}")
    raise InvalidInput(f"kind '{kind}' is not supported.", field="kind")


def present(connector: Connector) -> schemas.Connector:
    config = {k: v for k, v in connector.config.items() if k not in SECRET_KEYS}
    health = _health(connector)
    return schemas.Connector(
        id=connector.id,
        name=connector.name,
        kind=connector.kind,
        config=config,
        throughput=connector.throughput,
        enabled=connector.enabled,
        shared=connector.tenant_id is None,
        health=health,
        created_at=connector.created_at,
    )


def _health(connector: Connector) -> schemas.Health:
    """Live state of this process's link; a connector without one (the simulator, an
    HTTP carrier) is up while it is enabled."""
    if not connector.enabled:
        return schemas.Health(status="disabled")
    link = links.links.get(connector.id) if connector.kind == "smpp" else None
    if connector.kind == "smpp" and link is None:
        return schemas.Health(status="disconnected", last_error="not bound in this process")
    if link is not None:
        status: Literal["bound", "disconnected"] = "bound" if link.bound else "disconnected"
        return schemas.Health(
            status=status, last_error=link.last_error, queue_depth=link.queue_depth
        )
    errors = metrics.last_errors(connector.id)
    return schemas.Health(status="bound", last_error=errors[-1][1] if errors else None)


def _visible(tenant_id: str):  # type: ignore[no-untyped-def]
    return or_(Connector.tenant_id == tenant_id, Connector.tenant_id.is_(None))


async def access_connector_by_id(
    session: AsyncSession, actor: Actor, connector_id: str
) -> Connector:
    check_admin(actor)
    stmt = select(Connector).where(Connector.id == connector_id, _visible(actor.tenant_id))
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound("No such connector.", field="id")
    return found


async def list_connectors(session: AsyncSession, actor: Actor) -> Sequence[Connector]:
    check_admin(actor)
    stmt = select(Connector).where(_visible(actor.tenant_id)).order_by(Connector.id)
    return (await session.execute(stmt)).scalars().all()


async def create_connector(
    session: AsyncSession, actor: Actor, data: schemas.ConnectorCreate
) -> Connector:
    check_admin(actor)
    connector = Connector(
        tenant_id=actor.tenant_id,
        name=data.name,
        kind=data.kind,
        config=_check_config(data.kind, data.config),
        throughput=data.throughput,
        enabled=data.enabled,
    )
    session.add(connector)
    await session.flush()
    return connector


async def update_connector(
    session: AsyncSession, actor: Actor, connector_id: str, data: schemas.ConnectorUpdate
) -> Connector:
    check_admin(actor)
    connector = await access_connector_by_id(session, actor, connector_id)
    if connector.tenant_id is None:
        raise NotFound("No such connector.", field="id")  # shared ones are the system's
    if data.config is not None:
        connector.config = _check_config(connector.kind, {**connector.config, **data.config})
    for field in ("name", "throughput", "enabled"):
        value = getattr(data, field)
        if value is not None:
            setattr(connector, field, value)
    await session.flush()
    return connector


async def check_connector_usable(
    session: AsyncSession, tenant_id: str, connector_id: str, field: str = "connector_id"
) -> None:
    stmt = select(Connector.id).where(Connector.id == connector_id, _visible(tenant_id))
    if (await session.execute(stmt)).first() is None:
        raise InvalidInput("No such connector.", field=field, code="unknown_connector")


async def connector_for(session: AsyncSession, number: NumberInfo) -> schemas.ConnectorInfo:
    """The number's own connector, else the tenant's first, else the first shared one
    (a cached snapshot: it is read for every message sent)."""

    async def load() -> schemas.ConnectorInfo | None:
        if number.connector_id:
            found = await session.get(Connector, number.connector_id)
            if found is not None and found.enabled:
                return schemas.ConnectorInfo.model_validate(found)
        stmt = (
            select(Connector)
            .where(_visible(number.tenant_id), Connector.enabled.is_(True))
            .order_by(Connector.tenant_id.is_(None), Connector.id)
            .limit(1)
        )
        row = (await session.execute(stmt)).scalar_one_or_none()
        return schemas.ConnectorInfo.model_validate(row) if row else None

    info = await cache.get(("connector_for", number.id, number.connector_id), load)
    if info is None:
        raise CarrierConfigError(f"no carrier connector can send for {number.e164}")
    return info


async def fallback_for(session: AsyncSession, number: NumberInfo) -> schemas.ConnectorInfo | None:
    """The number's fallback connector (K5), if it has one that is enabled."""
    if not number.fallback_connector_id:
        return None
    ref = number.fallback_connector_id

    async def load() -> schemas.ConnectorInfo | None:
        found = await session.get(Connector, ref)
        usable = found is not None and found.enabled
        visible = found is not None and found.tenant_id in (None, number.tenant_id)
        return schemas.ConnectorInfo.model_validate(found) if usable and visible else None

    return await cache.get(("fallback_for", number.id, ref), load)


async def available(connector: schemas.ConnectorInfo) -> bool:
    """Whether this process can submit through `connector` now (an SMPP bind held by
    another process cannot)."""
    check = getattr(carrier_for(connector), "available", None)
    return True if check is None else bool(await check())


def count_results(connector_id: str, results: Sequence[SubmitResult | CarrierError]) -> None:
    metrics.count_results(connector_id, results)


def carrier_for(connector: schemas.ConnectorInfo) -> Carrier:
    if connector.kind == "simulator":
        return SimulatorCarrier(connector.id, SimulatorConfig.model_validate(connector.config))
    if connector.kind == "http":
        return http_registry.carrier(
            connector.id, connector.config, tenant_owned=connector.tenant_id is not None
        )
    if connector.kind == "smpp":
        return SmppCarrier(
            connector.id, links.link_for(connector.id, connector.config, connector.tenant_id)
        )
    raise CarrierConfigError(f"connector kind '{connector.kind}' cannot send")
