"""ORM models, one module per aggregate. Importing this package registers every table."""

from smshub.kit.db import Base
from smshub.models.billing import RatingRule
from smshub.models.campaign import (
    Campaign,
    CampaignRecipient,
    CampaignSend,
    ComplianceKeyword,
    ListEntry,
    RecipientList,
)
from smshub.models.compliance import BlocklistEntry, QuarantinedMessage
from smshub.models.connector import CarrierPacing, Connector, SimulatorOutbox, SmppPart
from smshub.models.contact import Contact, ContactNumber
from smshub.models.forwarding import (
    DeliveryAttempt,
    MailSender,
    NumberForwarding,
    Webhook,
    WebhookDelivery,
)
from smshub.models.group import CallGroup, GroupMember
from smshub.models.job import Job
from smshub.models.message import (
    Conversation,
    ConversationState,
    Message,
    MessageEvent,
    UnreadTotal,
)
from smshub.models.number import Number, NumberAssignment
from smshub.models.tenant import ApiKey, Tenant, User, WebSession

__all__ = [
    "ApiKey",
    "Base",
    "BlocklistEntry",
    "CallGroup",
    "Campaign",
    "CampaignRecipient",
    "CampaignSend",
    "CarrierPacing",
    "ComplianceKeyword",
    "Connector",
    "Contact",
    "ContactNumber",
    "Conversation",
    "ConversationState",
    "DeliveryAttempt",
    "GroupMember",
    "Job",
    "ListEntry",
    "MailSender",
    "Message",
    "MessageEvent",
    "Number",
    "NumberAssignment",
    "NumberForwarding",
    "QuarantinedMessage",
    "RatingRule",
    "RecipientList",
    "SimulatorOutbox",
    "SmppPart",
    "Tenant",
    "UnreadTotal",
    "User",
    "WebSession",
    "Webhook",
    "WebhookDelivery",
]
