"""The demo tenant that `smshub serve --demo` seeds (once; later starts reuse it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import repository as auth_repo
from smshub.auth import service as auth_service
from smshub.auth.actor import Actor
from smshub.auth.schemas import UserCreate
from smshub.carriers import service as carriers_service
from smshub.carriers.schemas import ConnectorCreate
from smshub.contacts import service as contacts_service
from smshub.contacts.schemas import ContactCreate
from smshub.groups import service as groups_service
from smshub.groups.schemas import GroupCreate
from smshub.messaging import service as messaging
from smshub.numbers import service as numbers_service
from smshub.numbers.schemas import NumberCreate

TENANT = "Demo Co"
PASSWORD = "demo1234"
ADMIN_EXTENSION = "100"


@dataclass(frozen=True)
class DemoLogin:
    company: str
    extension: str
    password: str
    created: bool


async def seed_demo(session: AsyncSession) -> DemoLogin:
    existing = await auth_repo.tenant_by_slug(session, auth_service.slugify(TENANT))
    if existing is not None:
        return DemoLogin(existing.slug, ADMIN_EXTENSION, PASSWORD, created=False)
    tenant, admin, _ = await auth_service.create_tenant(
        session,
        TENANT,
        admin_extension=ADMIN_EXTENSION,
        admin_name="Alice Admin",
        admin_password=PASSWORD,
    )
    actor = Actor(admin.id, tenant.id, "admin", admin.extension, admin.name)
    sim = await carriers_service.create_connector(
        session,
        actor,
        ConnectorCreate(name="Simulator", kind="simulator", config={"delivery_delay_s": 1.0}),
    )
    people = {}
    for ext, name in [("101", "Bob Baker"), ("102", "Carol Chen"), ("103", "Dave Diaz")]:
        user = await auth_service.create_user(
            session, actor, UserCreate(extension=ext, name=name, password=PASSWORD)
        )
        people[ext] = user.id
    sales = await numbers_service.create_number(
        session, actor, NumberCreate(e164="+14155550100", label="Sales", connector_id=sim.id)
    )
    await numbers_service.set_assignees(session, actor, sales.id, [people["101"], people["102"]])
    own = await numbers_service.create_number(
        session, actor, NumberCreate(e164="+14155550101", label="Alice direct", connector_id=sim.id)
    )
    await numbers_service.set_assignees(session, actor, own.id, [admin.id])
    support = await numbers_service.create_number(
        session, actor, NumberCreate(e164="+14155550102", label="Support line", connector_id=sim.id)
    )
    await groups_service.create_group(
        session,
        actor,
        GroupCreate(
            name="Support", member_ids=[people["102"], people["103"]], number_id=support.id
        ),
    )
    for name, num, email in [
        ("Erin Example", "+12025550123", "erin@example.com"),
        ("Frank Field", "+61400123456", None),
    ]:
        await contacts_service.create_contact(
            session,
            actor,
            ContactCreate(name=name, numbers=[num], email=email),  # type: ignore[list-item]
        )
    for sender, to, body in [
        ("+12025550123", "+14155550100", "Hi! Is the blue model still in stock?"),
        ("+61400123456", "+14155550102", "My router keeps dropping the connection since Monday."),
        ("+12025550123", "+14155550101", "Thanks for the call earlier, talk soon."),
    ]:
        await messaging.receive_message(
            session, from_e164=sender, to_e164=to, body=body, connector_id=sim.id
        )
    return DemoLogin(tenant.slug, ADMIN_EXTENSION, PASSWORD, created=True)
