"""The webhook outbox: a delivery per subscribed webhook of each event handed to it,
stored in the transaction that writes the event (the ledger's alert subscriber), so
a process dying after the write loses no delivery."""

from __future__ import annotations

from collections.abc import Sequence

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.kit.clock import utcnow
from ontology.ledger.events import EventDocument
from ontology.webhooks.models import new_delivery
from ontology.webhooks.repository import DeliveryRepository, WebhookRepository


class WebhookOutbox:
    def __init__(self, webhooks: WebhookRepository, deliveries: DeliveryRepository) -> None:
        self.webhooks = webhooks
        self.deliveries = deliveries

    async def enqueue(
        self, group_id: ObjectId, events: Sequence[EventDocument], session: AsyncClientSession
    ) -> None:
        """One delivery per event and webhook of the group subscribed to its type."""
        if not events:
            return
        now = utcnow()
        hooks = await self.webhooks.of_group(group_id, session)
        outbox = [
            new_delivery(hook, event, now)
            for event in events
            for hook in hooks
            if event["type"] in hook["events"]
        ]
        await self.deliveries.insert_many(group_id, outbox, session)
