"""A change event of the stream, and the topics it touches.

A topic is a tuple: its kind, the group, and the document id or filter key a
subscriber reads. The index of ``ontology.live.hub`` maps topics to
subscribers, so a change wakes only the subscribers of its topics: an update of
one thing touches that thing's topic only, a new event its group's topics for
"any event", its type, its actor and its target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from ontology.db.client import Document

# collection -> the operations subscriptions read (the server-side filter of the stream)
WATCHED: dict[str, tuple[str, ...]] = {
    "things": ("update", "replace"),
    "connections": ("insert", "delete"),
    "events": ("insert",),
    "counters": ("insert", "update", "replace"),
    "groups": ("update", "replace"),
    "usage": ("insert", "update", "replace"),
    "job_runs": ("insert", "update", "replace"),
    "api_keys": ("update", "replace"),
}

# thing fields written when only its connection counts change
COUNT_FIELDS = ("connectionCounts", "newestConnection")

Topic = tuple[Any, ...]


def thing_topic(group_id: ObjectId, thing_id: ObjectId) -> Topic:
    return ("thing", group_id, thing_id)


def connections_topic(group_id: ObjectId, thing_id: ObjectId) -> Topic:
    return ("connections", group_id, thing_id)


def events_topic(group_id: ObjectId, field: str | None = None, value: Any = None) -> Topic:
    """A group's events: all of them (no field), or those with ``field`` = ``value``."""
    return ("events", group_id, field, value)


def usage_topic(group_id: ObjectId) -> Topic:
    """A group's counters and usage (realtime metrics, quota levels)."""
    return ("usage", group_id)


def runs_topic(group_id: ObjectId) -> Topic:
    return ("runs", group_id)


def key_topic(key_id: ObjectId) -> Topic:
    return ("key", key_id)


def stream_pipeline() -> list[dict[str, Any]]:
    """The stream's server-side filter: the watched collections and operations only."""
    return [
        {
            "$match": {
                "$or": [
                    {"ns.coll": collection, "operationType": {"$in": list(operations)}}
                    for collection, operations in WATCHED.items()
                ]
            }
        }
    ]


@dataclass(frozen=True)
class Change:
    collection: str
    operation: str
    doc_id: Any
    group_id: ObjectId | None
    # after the change (inserts; updates looked up), or before it (deletes with pre-images)
    document: Document | None
    updated: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Change:
        operation = event["operationType"]
        document = event.get("fullDocument")
        if operation == "delete":
            document = event.get("fullDocumentBeforeChange")
        description = event.get("updateDescription") or {}
        updated = frozenset(description.get("updatedFields") or ()) | frozenset(
            description.get("removedFields") or ()
        )
        collection = (event.get("ns") or {}).get("coll", "")
        doc_id = (event.get("documentKey") or {}).get("_id")
        group_id = document.get("groupId") if document else None
        if collection == "groups":
            group_id = doc_id
        return cls(
            collection=collection,
            operation=operation,
            doc_id=doc_id,
            group_id=group_id,
            document=document,
            updated=updated,
        )

    @property
    def counts_only(self) -> bool:
        """An update that changed only a thing's connection counters."""
        return bool(self.updated) and all(
            name.split(".", 1)[0] in COUNT_FIELDS for name in self.updated
        )

    def topics(self) -> list[Topic]:
        """The topics this change touches (none when it names no group it can be routed by)."""
        doc = self.document
        group = self.group_id
        if self.collection == "api_keys":
            revoked = any(name.startswith("revokedAt") for name in self.updated)
            if revoked or (self.operation == "replace" and doc and doc.get("revokedAt")):
                return [key_topic(self.doc_id)]
            return []
        if group is None or doc is None:
            return []
        if self.collection == "things":
            return [thing_topic(group, self.doc_id)]
        if self.collection == "connections":
            ends = {doc.get("fromId"), doc.get("toId")}
            return [connections_topic(group, end) for end in ends if isinstance(end, ObjectId)]
        if self.collection == "events":
            return [events_topic(group)] + [
                events_topic(group, name, doc.get(name))
                for name in ("type", "actorId", "targetId")
                if doc.get(name) is not None
            ]
        if self.collection in ("counters", "groups", "usage"):
            return [usage_topic(group)]
        if self.collection == "job_runs":
            return [runs_topic(group)]
        return []
