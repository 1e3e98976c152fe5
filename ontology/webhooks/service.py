"""Managing a group's webhooks (org_owner) and reading their deliveries."""

from __future__ import annotations

from bson import ObjectId

from ontology.db.client import Document
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.kit.pagination import PageRequest
from ontology.webhooks.models import (
    MAX_WEBHOOKS_PER_GROUP,
    check_events,
    check_target,
    new_webhook,
)
from ontology.webhooks.repository import DeliveryRepository, WebhookRepository

MAX_DESCRIPTION_CHARS = 256


class WebhookService:
    def __init__(
        self,
        webhooks: WebhookRepository,
        deliveries: DeliveryRepository,
        *,
        allow_private: bool,
    ) -> None:
        self.webhooks = webhooks
        self.deliveries = deliveries
        self.allow_private = allow_private

    async def create(
        self, group_id: ObjectId, url: str, events: list[str], description: str = ""
    ) -> tuple[Document, str]:
        """Store a webhook; it and its secret (shown once). ``RejectedError`` (nothing
        written) for a refused target, unknown events or too many webhooks."""
        url = url.strip()
        errors = check_target(url, self.allow_private) + check_events(events)
        if len(description) > MAX_DESCRIPTION_CHARS:
            errors.append(
                ItemError(
                    ErrorCode.INVALID_INPUT,
                    f"description is longer than {MAX_DESCRIPTION_CHARS} characters.",
                    "description",
                )
            )
        if not errors and len(await self.webhooks.of_group(group_id)) >= MAX_WEBHOOKS_PER_GROUP:
            errors.append(
                ItemError(
                    ErrorCode.INVALID_INPUT,
                    f"A group has at most {MAX_WEBHOOKS_PER_GROUP} webhooks.",
                    "url",
                )
            )
        if errors:
            raise RejectedError(errors)
        doc, secret = new_webhook(group_id, url, events, description, utcnow())
        await self.webhooks.insert(group_id, doc)
        return doc, secret

    async def of_group(self, group_id: ObjectId) -> list[Document]:
        return await self.webhooks.of_group(group_id)

    async def delete(self, group_id: ObjectId, webhook_id: ObjectId | None) -> None:
        """Delete a webhook; its pending deliveries then fail (``the webhook was deleted``)."""
        if webhook_id is None or not await self.webhooks.delete(group_id, webhook_id):
            raise RejectedError([ItemError(ErrorCode.NOT_FOUND, "No such webhook.", "id")])

    async def deliveries_page(self, group_id: ObjectId, page: PageRequest) -> list[Document]:
        return await self.deliveries.page(group_id, page)
