"""GraphQL types for webhooks and their deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from ontology.api.base import UserError
from ontology.kit.ids import to_global_id


@strawberry.enum(description="Where a webhook delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@strawberry.type(
    name="Webhook",
    description="An HTTPS endpoint the group's events are POSTed to, signed with its secret.",
)
class WebhookType:
    id: strawberry.ID
    url: str
    events: list[str]
    description: str
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> WebhookType:
        return cls(
            id=strawberry.ID(to_global_id("Webhook", doc["_id"])),
            url=doc["url"],
            events=list(doc["events"]),
            description=doc.get("description") or "",
            created_at=doc["createdAt"],
        )


@strawberry.type(name="WebhookDelivery", description="One event to deliver to one webhook.")
class WebhookDeliveryType:
    id: strawberry.ID = strawberry.field(description="Sent as the X-Ontology-Delivery header.")
    webhook_id: strawberry.ID
    event_id: strawberry.ID
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> WebhookDeliveryType:
        status = WebhookDeliveryStatus(doc["status"])
        return cls(
            id=strawberry.ID(to_global_id("WebhookDelivery", doc["_id"])),
            webhook_id=strawberry.ID(to_global_id("Webhook", doc["webhookId"])),
            event_id=strawberry.ID(to_global_id("Event", doc["eventId"])),
            event_type=doc["eventType"],
            status=status,
            attempts=int(doc.get("attempts", 0)),
            next_attempt_at=doc["nextAttemptAt"]
            if status is WebhookDeliveryStatus.PENDING
            else None,
            last_status_code=doc.get("lastStatusCode"),
            last_error=doc.get("lastError"),
            created_at=doc["createdAt"],
            delivered_at=doc.get("deliveredAt"),
        )


@strawberry.input
class CreateWebhookInput:
    url: str = strawberry.field(
        description="A public https URL (any http(s) URL when the server allows private ones)."
    )
    events: list[str] = strawberry.field(description="Event types to deliver: quota_alert.")
    description: str = ""


@strawberry.type
class CreateWebhookPayload:
    webhook: WebhookType | None
    secret: str | None = strawberry.field(
        description="The signing secret, shown only here: keep it to check X-Ontology-Signature."
    )
    errors: list[UserError]


@strawberry.input
class DeleteWebhookInput:
    id: strawberry.ID


@strawberry.type
class DeleteWebhookPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]
