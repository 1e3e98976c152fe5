"""GraphQL types for groups and the viewer."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ontology.api.base import Node
from ontology.api.metrics.types import GroupMetrics
from ontology.api.people.types import RoleEnum
from ontology.groups.models import Plan
from ontology.kit.clock import utcnow
from ontology.kit.ids import to_global_id
from ontology.ledger.documents import GroupDocument

PlanEnum = strawberry.enum(Plan, name="Plan")


@strawberry.type
class TypeCount:
    type: str
    count: int


@strawberry.type(description="Denormalized counters, maintained on every write.")
class GroupCounts:
    things: int
    connections: int
    events: int
    people: int
    knowledge: int
    storage_bytes: float = strawberry.field(description="Bytes (Float: may pass 2^31).")
    things_by_type: list[TypeCount]
    connections_by_type: list[TypeCount]


def _type_counts(counts: dict[str, int]) -> list[TypeCount]:
    return [TypeCount(type=name, count=n) for name, n in sorted(counts.items()) if n]


@strawberry.type(name="Group", description="A tenant.")
class GroupType(Node):
    slug: str
    name: str
    type: str
    plan: PlanEnum  # type: ignore[valid-type]
    status: str
    created_at: datetime
    counts: GroupCounts
    doc: strawberry.Private[GroupDocument]

    @strawberry.field(description="Computed metrics, from counters (never scans events).")
    def metrics(self) -> GroupMetrics:
        return GroupMetrics(group=self.doc, now=utcnow())

    @classmethod
    def from_doc(cls, doc: GroupDocument) -> GroupType:
        counts = doc.get("counts") or {}
        return cls(
            id=strawberry.ID(to_global_id("Group", doc["_id"])),
            slug=doc["slug"],
            name=doc["name"],
            type=doc["type"],
            plan=Plan(doc["plan"]),
            status=doc["status"],
            created_at=doc["createdAt"],
            doc=doc,
            counts=GroupCounts(
                things=counts.get("things", 0),
                connections=counts.get("connections", 0),
                events=counts.get("events", 0),
                people=counts.get("people", 0),
                knowledge=counts.get("knowledge", 0),
                storage_bytes=float(counts.get("storageBytes", 0)),
                things_by_type=_type_counts(counts.get("thingsByType") or {}),
                connections_by_type=_type_counts(counts.get("connectionsByType") or {}),
            ),
        )


@strawberry.type(description="The caller: its role and its group.")
class Viewer:
    role: RoleEnum  # type: ignore[valid-type]
    group: GroupType
