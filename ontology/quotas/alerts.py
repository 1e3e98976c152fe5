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

A plan change or a limit override moves the levels too: ``record_limits``
compares each metric's level under the old and the new limits, in the change's
transaction (``UNLIMITED`` counts as ``OK``: moving to an unlimited plan from
``EXCEEDED`` is a crossing down).

Not covered: ``api_calls_per_month`` (counted in buffered increments, not in a
write's transaction).
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
# (metric, level before, level after, value after, limit after: None = unlimited)
Crossing = tuple[Metric, QuotaLevel, QuotaLevel, int, int | None]


def crossings(before: dict[str, Any], increments: dict[str, int]) -> list[Crossing]:
    """(metric, level before, level after, value after, limit) of each metric whose level
    the increments change, from the group document before them."""
    quota = before.get("quota") or {}
    found: list[Crossing] = []
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


def _level(value: int, limit: int | None) -> QuotaLevel:
    level = quota_level(value, limit)[1]
    return QuotaLevel.OK if level is QuotaLevel.UNLIMITED else level


def limit_crossings(
    group: dict[str, Any], old_quota: dict[str, int], new_quota: dict[str, int]
) -> list[Crossing]:
    """The crossings of moving the group (its counters) from one set of enforced limits
    (counter units, ``-1`` unlimited) to another."""
    found: list[Crossing] = []
    for field, metric in METRIC_OF_COUNTER.items():
        value = _dotted(group, field)
        old_limit, new_limit = old_quota.get(metric.value), new_quota.get(metric.value)
        before = _level(value, None if old_limit is None or old_limit < 0 else old_limit)
        limit = None if new_limit is None or new_limit < 0 else new_limit
        after = _level(value, limit)
        if before is not after:
            found.append((metric, before, after, value, limit))
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
        await self.write(group_id, list(crossings(before or {}, increments)), session)

    async def record_limits(
        self,
        group: dict[str, Any],
        new_quota: dict[str, int],
        session: AsyncClientSession,
    ) -> None:
        """Log the crossings of a plan change or limit override of ``group`` (as read in
        the change's transaction) to ``new_quota``."""
        crossed = limit_crossings(group, group.get("quota") or {}, new_quota)
        await self.write(group["_id"], crossed, session)

    async def write(
        self, group_id: ObjectId, crossed: list[Crossing], session: AsyncClientSession
    ) -> None:
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
                        "limit": None if limit is None else (limit / GIB if storage else limit),
                        "percentUsed": None
                        if limit is None
                        else round(quota_level(value, limit)[0] or 0.0, 2),
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
