"""Root queries for webhooks (org_owner)."""

from __future__ import annotations

import strawberry

from ontology.api.base import Connection
from ontology.api.context import Context
from ontology.api.webhooks.types import WebhookDeliveryType, WebhookType

Info = strawberry.Info[Context, None]


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="The group's webhooks, oldest first (at most 10).")
    async def webhooks(self, info: Info) -> list[WebhookType]:
        context = info.context
        docs = await context.services.webhooks.of_group(context.group_id)
        return [WebhookType.from_doc(doc) for doc in docs]

    @strawberry.field(description="The group's webhook deliveries, newest first.")
    async def webhook_deliveries(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[WebhookDeliveryType]:
        context = info.context
        page = context.page(first, after, last, before)
        docs = await context.services.webhooks.deliveries_page(context.group_id, page)
        return Connection.of(
            page.slice(docs, lambda d: d["_id"]), WebhookDeliveryType.from_doc, None
        )
