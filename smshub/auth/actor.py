"""Who is acting: the authenticated extension, its tenant and role."""

from __future__ import annotations

from dataclasses import dataclass

from smshub.kit.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    user_id: str
    tenant_id: str
    role: str
    extension: str
    name: str
    csrf_token: str | None = None  # set when authenticated by a web session

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("This action needs the admin role.", code="admin_required")
