"""ORM models, one module per aggregate. Importing this package registers every table."""

from smshub.kit.db import Base
from smshub.models.contact import Contact, ContactNumber
from smshub.models.group import CallGroup, GroupMember
from smshub.models.job import Job
from smshub.models.number import Number, NumberAssignment
from smshub.models.tenant import ApiKey, Tenant, User, WebSession

__all__ = [
    "ApiKey",
    "Base",
    "CallGroup",
    "Contact",
    "ContactNumber",
    "GroupMember",
    "Job",
    "Number",
    "NumberAssignment",
    "Tenant",
    "User",
    "WebSession",
]
