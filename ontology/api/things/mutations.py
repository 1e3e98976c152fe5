"""Mutations for things: create, update, soft delete."""

from __future__ import annotations

import strawberry

from ontology.api.base import payload
from ontology.api.context import Context
from ontology.api.things.types import (
    CreateThingInput,
    DeleteThingInput,
    DeleteThingPayload,
    ThingPayload,
    ThingType,
    UpdateThingInput,
)
from ontology.kit.ids import parse_global_id, to_global_id
from ontology.things.models import NewThing, ThingChanges

Info = strawberry.Info[Context, None]


@strawberry.type
class ThingMutations:
    @strawberry.mutation(description="Create a thing (org_user and above).")
    async def create_thing(self, info: Info, input: CreateThingInput) -> ThingPayload:
        context = info.context
        new = NewThing(
            type=input.type, name=input.name, properties=input.properties, status=input.status
        )
        return await payload(
            context.services.things.create(context.group_id, new),
            lambda doc: ThingPayload(thing=ThingType.from_doc(doc), errors=[]),
            lambda errors: ThingPayload(thing=None, errors=errors),
        )

    @strawberry.mutation(description="Change a thing's name, properties or status.")
    async def update_thing(self, info: Info, input: UpdateThingInput) -> ThingPayload:
        context = info.context
        changes = ThingChanges(
            name=input.name,
            properties=input.properties,
            status=input.status,
            expected_version=input.expected_version,
        )
        thing_id = parse_global_id(input.id, "Thing")
        return await payload(
            context.services.things.update(context.group_id, thing_id, changes),
            lambda doc: ThingPayload(thing=ThingType.from_doc(doc), errors=[]),
            lambda errors: ThingPayload(thing=None, errors=errors),
        )

    @strawberry.mutation(description="Soft-delete a thing; its connections are removed.")
    async def delete_thing(self, info: Info, input: DeleteThingInput) -> DeleteThingPayload:
        context = info.context
        thing_id = parse_global_id(input.id, "Thing")
        return await payload(
            context.services.things.delete(context.group_id, thing_id),
            lambda doc: DeleteThingPayload(
                deleted_id=strawberry.ID(to_global_id("Thing", doc["_id"])), errors=[]
            ),
            lambda errors: DeleteThingPayload(deleted_id=None, errors=errors),
        )
