"""``thingChanged``: one thing, after each change to it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import Enum
from typing import cast

import strawberry

from ontology.api.live import Info, connection_of, renew_loaders
from ontology.api.things.loaders import ThingsByIdLoader
from ontology.api.things.types import ThingType
from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.kit.ids import parse_global_id
from ontology.live.changes import Change, thing_topic
from ontology.things.documents import ThingDocument


@strawberry.enum(description="What changed about a thing.")
class ThingChangeKind(Enum):
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    COUNTS = "COUNTS"


@strawberry.type(description="A thing after a change (null once deleted).")
class ThingChange:
    kind: ThingChangeKind
    thing_id: strawberry.ID
    thing: ThingType | None


def kind_of(change: Change) -> ThingChangeKind:
    document = change.document or {}
    if document.get("deletedAt") is not None or change.operation == "delete":
        return ThingChangeKind.DELETED
    return ThingChangeKind.COUNTS if change.counts_only else ThingChangeKind.UPDATED


@strawberry.type
class ThingSubscriptions:
    @strawberry.subscription(
        description="The thing after each change to it: UPDATED, COUNTS (only its connection "
        "counts changed) or DELETED (the last message). NOT_FOUND for an id that is not one of "
        "the group's live things."
    )
    async def thing_changed(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[ThingChange, None]:
        connection = connection_of(info)
        group_id = info.context.group_id
        thing_id = parse_global_id(id, "Thing")
        if thing_id is None:
            raise ClientError(f"No thing {id[:40]!r}.", RequestErrorCode.NOT_FOUND)
        # in the index before the check, so a change made meanwhile is queued, not missed
        subscriber = connection.subscribe(thing_topic(group_id, thing_id), "thing")
        try:
            if await info.context.loaders.get(ThingsByIdLoader).load(thing_id) is None:
                raise ClientError(f"No thing {id[:40]!r}.", RequestErrorCode.NOT_FOUND)
            while True:
                change = await subscriber.next()
                kind = kind_of(change)
                loaders = renew_loaders(info)
                document = change.document
                live = document is not None and document.get("groupId") == group_id
                if kind is ThingChangeKind.DELETED or not live:
                    loaders.get(ThingsByIdLoader).prime(thing_id, None)
                else:
                    # a change of the things collection: its document as stored
                    loaders.get(ThingsByIdLoader).prime(thing_id, cast(ThingDocument, document))
                doc = await loaders.get(ThingsByIdLoader).load(thing_id)
                yield ThingChange(
                    kind=kind, thing_id=id, thing=ThingType.from_doc(doc) if doc else None
                )
                if kind is ThingChangeKind.DELETED:
                    return
        finally:
            connection.unsubscribe(subscriber)
