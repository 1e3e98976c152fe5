"""Quota alerts: a ``quota_alert`` event per crossing of a level.

A write's counter update returns the group document as it was before it (the
same one command a reservation always sends, ``Ledger.reserve``), so the levels
before and after the write are known without another read. When a metric's
level changes (``OK`` → ``WARNING`` → ``CRITICAL`` → ``EXCEEDED`` and back down),
the ledger writes, in the write's transaction: one ``quota_alert`` event per
metric crossed, its counters, and whatever its alert subscribers add (the
webhook outbox, ``ontology.webhooks.outbox``). A write that crosses nothing
sends nothing more. Writes of a group are serialized on its document, so each
crossing is seen by exactly one reservation (writes committed together make one
reservation: one alert per crossing of their sum), and since the subscribers'
entries commit with it, a process dying after the write loses no delivery.

A plan change or a limit override moves the levels too: ``limit_crossings``
compares each metric's level under the old and the new limits, in the change's
transaction (``UNLIMITED`` counts as ``OK``: moving to an unlimited plan from
``EXCEEDED`` is a crossing down).

Not covered: ``api_calls_per_month`` (counted in buffered increments, not in a
write's transaction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.ledger.events import EventDocument, new_event
from ontology.ledger.plans import (
    GIB,
    LEASED_OF_COUNTER,
    METRIC_OF_COUNTER,
    Metric,
    QuotaLevel,
    quota_level,
)

# what the update returns of the group document: the limits and the watched counters
PROJECTION = {
    "quota": 1,
    **dict.fromkeys(METRIC_OF_COUNTER, 1),
    **dict.fromkeys(LEASED_OF_COUNTER.values(), 1),
}
# (metric, level before, level after, value after, limit after: None = unlimited)
Crossing = tuple[Metric, QuotaLevel, QuotaLevel, int, int | None]
# called with a write's quota_alert events, in its transaction (the webhook outbox)
AlertSubscriber = Callable[[ObjectId, Sequence[EventDocument], AsyncClientSession], Awaitable[None]]


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
    group: Mapping[str, Any], old_quota: dict[str, int], new_quota: dict[str, int]
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


def watched(increments: dict[str, int]) -> bool:
    """Whether ``increments`` change a counter that has a quota level."""
    return any(amount and field in METRIC_OF_COUNTER for field, amount in increments.items())


def reserved(before: dict[str, Any], increments: dict[str, int]) -> bool:
    """Whether ``reservation_pipeline`` applied ``increments`` to the document ``before``
    (its checks, on the same values: ``$quota`` missing or negative passes)."""
    quota = before.get("quota") or {}
    for field, amount in increments.items():
        metric = METRIC_OF_COUNTER.get(field)
        if metric is None or amount <= 0:
            continue
        limit = quota.get(metric.value)
        used = _dotted(before, field) + _dotted(before, LEASED_OF_COUNTER[field])
        if limit is not None and limit >= 0 and used + amount > limit:
            return False
    return True


def alert_events(group_id: ObjectId, crossed: list[Crossing], now: datetime) -> list[EventDocument]:
    """One ``quota_alert`` event per crossing."""
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
    return events


def _dotted(doc: Mapping[str, Any], path: str) -> int:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part, 0) if isinstance(value, dict) else 0
    return int(value or 0)
