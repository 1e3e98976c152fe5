"""Shared pieces of the quota tests: a settable clock, operations, expected shapes, truth.

Dates are far in the future on purpose: ``usage`` and ``quota_event_marks`` carry
TTL indexes, and a mark or usage document whose ``expiresAt`` is already past by
the server's real clock could be expired mid-test.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from ontology.ledger.counters import CountDelta
from ontology.ledger.plans import Metric
from ontology.runtime import Runtime
from ontology.things.models import NewThing, new_thing_document

T0 = datetime(2040, 3, 1, 12, 0, tzinfo=UTC)


# -- GraphQL operations -----------------------------------------------------------------------

USAGE_FIELDS = "metric current limit percentUsed status"
GROUP_QUOTAS = f"""
query {{
  groupQuotas {{
    plan
    quotas {{ {USAGE_FIELDS} }}
    warnings {{ {USAGE_FIELDS} }}
    summary {{ allOk warningCount criticalCount exceededCount }}
  }}
}}
"""
QUOTA_STATUS = f"""
query {{
  quotaStatus {{
    status
    metrics {{ {USAGE_FIELDS} }}
    warnings {{ {USAGE_FIELDS} }}
    recommendations
    lastUpdated
  }}
}}
"""
CHECK_ENTITIES = """
query($count: Int!) {
  checkCanCreateEntities(count: $count) {
    canCreate availableSlots utilization reason suggestion
  }
}
"""
CHECK_STORE = """
query($bytes: Float!) {
  checkCanStore(bytes: $bytes) {
    canStore requestedBytes currentBytes limitBytes availableBytes utilization reason suggestion
  }
}
"""
UPGRADE_PRICING = """
query {
  upgradePricing {
    currentPlan
    plans { plan monthlyPrice annualPrice limits { metric limit } }
    upgrades { plan monthlyDifference annualDifference }
  }
}
"""
CHANGE_PLAN = """
mutation($plan: Plan!) {
  changePlan(plan: $plan) {
    group { plan counts { things people events storageBytes } }
    overLimit
    errors { index path code message quota { metric current requested limit available } }
  }
}
"""
ERRORS = "errors { index path code message quota { metric current requested limit available } }"
CREATE_THING = f"""
mutation($input: CreateThingInput!) {{
  createThing(input: $input) {{ thing {{ id name }} {ERRORS} }}
}}
"""
UPDATE_THING = f"""
mutation($input: UpdateThingInput!) {{
  updateThing(input: $input) {{ thing {{ id version }} {ERRORS} }}
}}
"""
DELETE_THING = f"""
mutation($id: ID!) {{
  deleteThing(input: {{id: $id}}) {{ deletedId {ERRORS} }}
}}
"""
CREATE_CONNECTION = f"""
mutation($input: CreateConnectionInput!) {{
  createConnection(input: $input) {{ connection {{ id }} {ERRORS} }}
}}
"""
DELETE_CONNECTION = f"""
mutation($id: ID!) {{
  deleteConnection(input: {{id: $id}}) {{ deletedId {ERRORS} }}
}}
"""
CREATE_PERSON = f"""
mutation($input: CreatePersonInput!) {{
  createPerson(input: $input) {{ person {{ id email }} {ERRORS} }}
}}
"""
LOG_EVENT = f"""
mutation($input: LogEventInput!) {{
  logEvent(input: $input) {{ event {{ id }} {ERRORS} }}
}}
"""
ADD_KNOWLEDGE = f"""
mutation($input: AddKnowledgeInput!) {{
  addKnowledge(input: $input) {{ knowledge {{ id }} {ERRORS} }}
}}
"""
EVENTS = """
query($type: String) {
  events(type: $type, first: 100) {
    totalCount
    edges { node { type timestamp metadata } }
  }
}
"""
VIEWER_COUNTS = """
query {
  viewer {
    role
    group {
      plan
      counts {
        things connections events people knowledge storageBytes
        thingsByType { type count }
        connectionsByType { type count }
      }
    }
  }
}
"""


# -- expected shapes --------------------------------------------------------------------------


def refusal_message(metric: Metric, current: int, requested: int, limit: int) -> str:
    available = max(0, limit - current)
    return (
        f"Quota exceeded for {metric.value}: {current} used, {requested} requested, "
        f"limit {limit}, {available} available."
    )


def refusal(
    metric: Metric,
    current: int,
    requested: int,
    limit: int,
    path: str,
    index: int | None = None,
) -> dict[str, Any]:
    """A QUOTA_EXCEEDED ``UserError`` exactly as the API returns it."""
    return {
        "index": index,
        "path": path,
        "code": "QUOTA_EXCEEDED",
        "message": refusal_message(metric, current, requested, limit),
        "quota": {
            "metric": metric.value,
            "current": current,
            "requested": requested,
            "limit": limit,
            "available": max(0, limit - current),
        },
    }


def usage(
    metric: str,
    current: float | None,
    limit: float | None,
    percent: float | None,
    status: str,
) -> dict[str, Any]:
    return {
        "metric": metric,
        "current": current,
        "limit": limit,
        "percentUsed": percent,
        "status": status,
    }


# -- set-up helpers ---------------------------------------------------------------------------


async def set_limit(
    runtime: Runtime, group_id: ObjectId, metric: Metric, value: int | None
) -> None:
    """Override one limit of a group (``-1`` unlimited, ``None`` back to the plan)."""
    quotas: Any = runtime.services.quotas
    if hasattr(quotas, "set_limit"):
        assert await quotas.set_limit(group_id, metric, value)
    else:  # older layout: the override lived on the repository only
        groups: Any = runtime.repos.groups
        assert await groups.set_limit(group_id, metric.value, value)


async def bump_counters(runtime: Runtime, group_id: ObjectId, **amounts: int) -> None:
    """Move counters directly (read-path tests only: no documents back them)."""
    delta = CountDelta()
    for field, amount in amounts.items():
        delta.add(field, amount)
    await runtime.repos.accounts.apply_counts(group_id, delta)


async def insert_things(
    runtime: Runtime,
    group_id: ObjectId,
    count: int,
    thing_type: str = "creator",
    now: datetime = T0,
    chunk: int = 5000,
) -> list[dict[str, Any]]:
    """Insert ``count`` valid things in bulk and apply the counters they add."""
    docs = [
        new_thing_document(
            group_id,
            NewThing(type=thing_type, name=f"T{i:06d}", properties={}, status="active"),
            now,
        )
        for i in range(count)
    ]
    collection = runtime.database.collection("things")
    for start in range(0, count, chunk):
        await collection.insert_many(docs[start : start + chunk], ordered=False)
    size = sum(doc["sizeBytes"] for doc in docs)
    await runtime.repos.accounts.apply_counts(
        group_id, CountDelta().things(thing_type, count, size, status="active")
    )
    return docs


# -- the truth, recomputed from the collections -----------------------------------------------


def live_counts(counts: dict[str, Any]) -> dict[str, Any]:
    """Counters with the per-type maps stripped of zero entries (left by deletes)."""
    return {
        key: {k: v for k, v in value.items() if v} if isinstance(value, dict) else value
        for key, value in counts.items()
    }


async def true_engagement(
    runtime: Runtime, group_id: ObjectId
) -> tuple[list[tuple[ObjectId, int]], int, int]:
    """What the content engagement metrics must read, recomputed from what is stored: the
    10 live content things with the most inbound connections (count descending, then id),
    the inbound connections of all live content, and the number of live content things."""
    database = runtime.database
    content = runtime.vocabulary.type_set("content")
    inbound: dict[ObjectId, int] = defaultdict(int)
    async for doc in database.collection("connections").find({"groupId": group_id}):
        inbound[doc["toId"]] += 1
    ranked: list[tuple[ObjectId, int]] = []
    async for doc in database.collection("things").find({"groupId": group_id, "deletedAt": None}):
        if doc["type"] in content:
            ranked.append((doc["_id"], inbound[doc["_id"]]))
    top = sorted([r for r in ranked if r[1] > 0], key=lambda r: (-r[1], r[0]))[:10]
    return top, sum(n for _, n in ranked), len(ranked)


async def read_engagement(
    runtime: Runtime, group_id: ObjectId
) -> tuple[list[tuple[ObjectId, int]], int, int]:
    """What the application reads for the same three values."""
    read = await runtime.services.metrics.engagement.read(group_id)
    top = [(doc["_id"], int(doc["connectionCounts"]["inbound"])) for doc in read.top]
    return top, read.inbound, read.count


async def stored_counts(runtime: Runtime, group_id: ObjectId) -> dict[str, Any]:
    return live_counts(await runtime.repos.groups.counts(group_id))


async def events_of_type(runtime: Runtime, group_id: ObjectId, event_type: str) -> list[Any]:
    cursor = runtime.database.collection("events").find(
        {"groupId": group_id, "type": event_type}, sort=[("sortKey", 1)]
    )
    return [doc async for doc in cursor]
