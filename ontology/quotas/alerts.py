"""Quota alerts: a ``quota_alert`` event per crossing of a level, and its webhook deliveries.

A write's counter update returns the group document as it was before it (the
same one command a write always sends, ``QuotaService.apply``), so the levels
before and after the write are known without another read. When a metric's
level changes (``OK`` → ``WARNING`` → ``CRITICAL`` → ``EXCEEDED`` and back down),
this writes, in the write's transaction: one ``quota_alert`` event per metric
crossed, its counters, and one outbox entry per webhook of the group subscribed
to ``quota_alert`` (``ontology.webhooks``). A write that crosses nothing sends
nothing more. Writes of a group are serialized on its document, so each crossing
is seen by exactly one write: one event per crossing, and since the outbox entry
commits with it, a process dying after the write loses no delivery.

Not covered: ``api_calls_per_month`` (counted in buffered increments, not in a
write's transaction) and plan or limit changes (which move the levels without a
write to the counters).
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.events.models import new_event
from ontology.events.repository import EventRepository
from ontology.groups.models import CountDelta
from ontology.groups.repository import GroupRepository
from ontology.kit.clock import utcnow
from ontology.quotas.models import GIB, METRIC_OF_COUNTER, Metric, QuotaLevel, quota_level
from ontology.webhooks.models import new_delivery
from ontology.webhooks.repository import DeliveryRepository, WebhookRepository

QUOTA_ALERT = "quota_alert"
# what the update returns of the group document: the limits and the watched counters
PROJECTION = {"quota": 1, **dict.fromkeys(METRIC_OF_COUNTER, 1)}


def crossings(
    before: dict[str, Any], increments: dict[str, int]
) -> list[tuple[Metric, QuotaLevel, QuotaLevel, int, int]]:
    """(metric, level before, level after, value after, limit) of each metric whose level
    the increments change, from the group document before them."""
    quota = before.get("quota") or {}
    found = []
    for field, amount in increments.items():
        metric = METRIC_OF_COUNTER.get(field)
        if metric is None or not amount or metric.value not in quota:
            continue
        limit = int(quota[metric.value])
        if limit < 0:
            continue  # unlimited
        value = _dotted(before, field)
        _, old = quota_level(value, limit)
        _, new = quota_level(value + amount, limit)
        if old is not new:
            found.append((metric, old, new, value + amount, limit))
    return found


class QuotaAlerts:
    def __init__(
        self,
        groups: GroupRepository,
        events: EventRepository,
        webhooks: WebhookRepository,
        deliveries: DeliveryRepository,
    ) -> None:
        self.groups = groups
        self.events = events
        self.webhooks = webhooks
        self.deliveries = deliveries

    async def record(
        self,
        group_id: ObjectId,
        before: dict[str, Any] | None,
        increments: dict[str, int],
        session: AsyncClientSession,
    ) -> None:
        """Log the crossings of a write that applied ``increments`` on ``before``."""
        crossed = crossings(before or {}, increments)
        if not crossed:
            return
        now = utcnow()
        events = []
        for metric, old, new, value, limit in crossed:
            storage = metric is Metric.STORAGE_GB
            events.append(
                new_event(
                    group_id,
                    "quota_alert",
                    timestamp=now,
                    metadata={
                        "metric": metric.value,
                        "from": old.value,
                        "to": new.value,
                        "current": value / GIB if storage else value,
                        "limit": limit / GIB if storage else limit,
                        "percentUsed": round(quota_level(value, limit)[0] or 0.0, 2),
                    },
                )
            )
        await self.events.insert_many(group_id, events, session)
        await self.groups.apply_counts(group_id, CountDelta().logged(events), session)
        hooks = [
            hook
            for hook in await self.webhooks.of_group(group_id, session)
            if QUOTA_ALERT in hook["events"]
        ]
        outbox = [new_delivery(hook, event, now) for event in events for hook in hooks]
        await self.deliveries.insert_many(group_id, outbox, session)


def _dotted(doc: dict[str, Any], path: str) -> int:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part, 0) if isinstance(value, dict) else 0
    return int(value or 0)
