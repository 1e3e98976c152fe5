"""Group documents and their denormalized counters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from bson import ObjectId


class GroupKind(StrEnum):
    FRIEND_CIRCLE = "friend_circle"
    BUSINESS = "business"
    COMMUNITY = "community"
    DAO = "dao"
    GOVERNMENT = "government"
    ORGANIZATION = "organization"


class Plan(StrEnum):
    STARTER = "starter"
    PRO = "pro"
    ENTERPRISE = "enterprise"


SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def empty_counts() -> dict[str, Any]:
    return {
        "things": 0,
        "thingsByType": {},
        "thingsByStatus": {},
        "connections": 0,
        "connectionsByType": {},
        # inbound connections of live things, by the things' type (content engagement)
        "inboundByType": {},
        "events": 0,
        "people": 0,
        "knowledge": 0,
        "storageBytes": 0,
    }


class CountDelta:
    """Increments to a group's ``counts``, built up then applied in one ``$inc``, and the
    newest and oldest keys written to its lists, kept with ``$max`` in ``newest`` and
    ``$min`` in ``oldest`` (a first page of a list starts there, ``ontology.db.windows``)."""

    def __init__(self) -> None:
        self.fields: dict[str, int] = {}
        self.newest: dict[str, Any] = {}
        self.oldest: dict[str, Any] = {}

    def saw(self, name: str, key: Any) -> CountDelta:
        newest, oldest = f"newest.{name}", f"oldest.{name}"
        if newest not in self.newest or key > self.newest[newest]:
            self.newest[newest] = key
        if oldest not in self.oldest or key < self.oldest[oldest]:
            self.oldest[oldest] = key
        return self

    def created(self, name: str, docs: Sequence[dict[str, Any]]) -> CountDelta:
        """New documents of the list ``name`` (by ``_id``), and of its list by type."""
        for doc in docs:
            self.saw(name, doc["_id"]).saw(f"{name}ByType.{doc['type']}", doc["_id"])
        return self

    def logged(self, events: Sequence[dict[str, Any]]) -> CountDelta:
        """New events: counted, and their keys seen."""
        self.events(len(events), sum(int(e["sizeBytes"]) for e in events))
        return self.saw_events(events)

    def saw_events(self, events: Sequence[dict[str, Any]]) -> CountDelta:
        """The newest and oldest ``sortKey`` of the group's events and of each type."""
        for event in events:
            self.saw("events", event["sortKey"]).saw(
                f"eventsByType.{event['type']}", event["sortKey"]
            )
        return self

    def add(self, field: str, amount: int) -> CountDelta:
        if amount:
            self.fields[f"counts.{field}"] = self.fields.get(f"counts.{field}", 0) + amount
        return self

    def things(self, thing_type: str, amount: int, size_bytes: int, *, status: str) -> CountDelta:
        return (
            self.add("things", amount)
            .add(f"thingsByType.{thing_type}", amount)
            .add(f"thingsByStatus.{status}", amount)
            .add("storageBytes", size_bytes)
        )

    def status_changed(self, old: str, new: str) -> CountDelta:
        """A live thing moved from status ``old`` to ``new``."""
        if old != new:
            self.add(f"thingsByStatus.{old}", -1).add(f"thingsByStatus.{new}", 1)
        return self

    def connections(self, connection_type: str, amount: int, size_bytes: int) -> CountDelta:
        return (
            self.add("connections", amount)
            .add(f"connectionsByType.{connection_type}", amount)
            .add("storageBytes", size_bytes)
        )

    def inbound(self, thing_type: str, amount: int) -> CountDelta:
        """Inbound connections of live things of ``thing_type`` gained (or lost)."""
        return self.add(f"inboundByType.{thing_type}", amount)

    def events(self, amount: int, size_bytes: int) -> CountDelta:
        return self.add("events", amount).add("storageBytes", size_bytes)

    def __bool__(self) -> bool:
        return any(self.fields.values()) or bool(self.newest)


def new_group(
    *, slug: str, name: str, plan: Plan, group_type: GroupKind, now: Any
) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "slug": slug,
        "name": name,
        "type": group_type.value,
        "parentGroupId": None,
        "plan": plan.value,
        "limits": {},
        "status": "active",
        "visibility": "private",
        "counts": empty_counts(),
        "createdAt": now,
        "updatedAt": now,
    }
