"""A group's denormalized counters: their shape (``empty_counts``) and the increments a
write makes to them (``CountDelta``), defined once for every write path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import bson


class Counts(TypedDict):
    """A group's ``counts`` sub-document: what ``empty_counts`` starts and ``CountDelta``
    increments (``counts.<field>``)."""

    things: int
    thingsByType: dict[str, int]
    thingsByStatus: dict[str, int]
    connections: int
    connectionsByType: dict[str, int]
    # absent from a group stored before it: its first engagement read recounts it
    inboundByType: NotRequired[dict[str, int]]
    events: int
    people: int
    knowledge: int
    storageBytes: int


def empty_counts() -> Counts:
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

    def created(self, name: str, docs: Sequence[Mapping[str, Any]]) -> CountDelta:
        """New documents of the list ``name`` (by ``_id``), and of its list by type."""
        return self._saw_typed(name, docs, "_id")

    def _saw_typed(self, name: str, docs: Sequence[Mapping[str, Any]], field: str) -> CountDelta:
        """The newest and oldest ``field`` of ``docs`` in the list ``name`` and in its list
        of each type (one pass, then each type's extremes: a batch is 10,000 documents)."""
        keys: dict[str, list[Any]] = {}
        for doc in docs:
            keys.setdefault(doc["type"], []).append(doc[field])
        for doc_type, of_type in keys.items():
            newest, oldest = max(of_type), min(of_type)
            for list_name in (name, f"{name}ByType.{doc_type}"):
                self.saw(list_name, newest).saw(list_name, oldest)
        return self

    def logged(self, events: Sequence[Mapping[str, Any]]) -> CountDelta:
        """New events: counted, and their keys seen."""
        self.events(len(events), sum(int(e["sizeBytes"]) for e in events))
        return self.saw_events(events)

    def saw_events(self, events: Sequence[Mapping[str, Any]]) -> CountDelta:
        """The newest and oldest ``sortKey`` of the group's events and of each type."""
        return self._saw_typed("events", events, "sortKey")

    def merge(self, other: CountDelta) -> CountDelta:
        """Add ``other``'s increments and keys to this delta."""
        for field, amount in other.fields.items():
            self.add_field(field, amount)
        for field, key in other.newest.items():
            if field not in self.newest or key > self.newest[field]:
                self.newest[field] = key
        for field, key in other.oldest.items():
            if field not in self.oldest or key < self.oldest[field]:
                self.oldest[field] = key
        return self

    def add_field(self, field: str, amount: int) -> None:
        if amount:
            self.fields[field] = self.fields.get(field, 0) + amount

    def add(self, field: str, amount: int) -> CountDelta:
        self.add_field(f"counts.{field}", amount)
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


def document_size(doc: Mapping[str, Any]) -> int:
    """What a document counts in ``storageBytes``: its BSON size, without ``sizeBytes``."""
    return len(bson.encode({k: v for k, v in doc.items() if k != "sizeBytes"}))
