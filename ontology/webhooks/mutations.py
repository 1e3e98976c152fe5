"""Mutations for webhooks (org_owner)."""

from __future__ import annotations

import strawberry

from ontology.context import Context
from ontology.kit.errors import RejectedError
from ontology.kit.graphql import UserError
from ontology.kit.ids import parse_global_id
from ontology.webhooks.types import (
    CreateWebhookInput,
    CreateWebhookPayload,
    DeleteWebhookInput,
    DeleteWebhookPayload,
    WebhookType,
)

Info = strawberry.Info[Context, None]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Add a webhook (org_owner); its signing secret is returned once."
    )
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> CreateWebhookPayload:
        context = info.context
        try:
            doc, secret = await context.runtime.services.webhooks.create(
                context.group_id, input.url, list(input.events), input.description
            )
        except RejectedError as rejected:
            return CreateWebhookPayload(
                webhook=None, secret=None, errors=UserError.from_items(rejected.errors)
            )
        return CreateWebhookPayload(webhook=WebhookType.from_doc(doc), secret=secret, errors=[])

    @strawberry.mutation(description="Remove a webhook (org_owner); pending deliveries fail.")
    async def delete_webhook(self, info: Info, input: DeleteWebhookInput) -> DeleteWebhookPayload:
        context = info.context
        webhook_id = parse_global_id(input.id, "Webhook")
        try:
            await context.runtime.services.webhooks.delete(context.group_id, webhook_id)
        except RejectedError as rejected:
            return DeleteWebhookPayload(
                deleted_id=None, errors=UserError.from_items(rejected.errors)
            )
        return DeleteWebhookPayload(deleted_id=input.id, errors=[])
