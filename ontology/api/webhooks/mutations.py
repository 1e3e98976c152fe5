"""Mutations for webhooks (org_owner)."""

from __future__ import annotations

import strawberry

from ontology.api.base import payload
from ontology.api.context import Context
from ontology.api.webhooks.types import (
    CreateWebhookInput,
    CreateWebhookPayload,
    DeleteWebhookInput,
    DeleteWebhookPayload,
    WebhookType,
)
from ontology.kit.ids import parse_global_id

Info = strawberry.Info[Context, None]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Add a webhook (org_owner); its signing secret is returned once."
    )
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> CreateWebhookPayload:
        context = info.context
        return await payload(
            context.services.webhooks.create(
                context.group_id, input.url, list(input.events), input.description
            ),
            lambda created: CreateWebhookPayload(
                webhook=WebhookType.from_doc(created[0]), secret=created[1], errors=[]
            ),
            lambda errors: CreateWebhookPayload(webhook=None, secret=None, errors=errors),
        )

    @strawberry.mutation(description="Remove a webhook (org_owner); pending deliveries fail.")
    async def delete_webhook(self, info: Info, input: DeleteWebhookInput) -> DeleteWebhookPayload:
        context = info.context
        webhook_id = parse_global_id(input.id, "Webhook")
        return await payload(
            context.services.webhooks.delete(context.group_id, webhook_id),
            lambda _: DeleteWebhookPayload(deleted_id=input.id, errors=[]),
            lambda errors: DeleteWebhookPayload(deleted_id=None, errors=errors),
        )
