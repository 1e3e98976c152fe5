"""Time buckets for counters and snapshots, and what one event adds to them.

Counters are small documents keyed by (group, thing, period, start). Every
event write adds to the group's minute, hour, day and month buckets and, when
the event has an actor, to the actor's running totals, in the same transaction
as the event itself. Reads then cost a bounded number of small documents,
whatever the event volume.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bson import ObjectId

from ontology.ledger.events import EventDocument
from ontology.ledger.periods import month_start, next_month_start

PAYMENT_EVENT = "payment_processed"


class Period(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"
    TOTAL = "total"  # a thing's running totals: no start, never expires


# How long each bucket is kept after its start (a TTL index removes it then).
# Minutes serve the last hour; hours feed the snapshot roll-up (which looks a
# day or two back); days serve the 7- and 14-day metrics; months the current one.
COUNTER_RETENTION: dict[Period, timedelta] = {
    Period.MINUTE: timedelta(hours=2),
    Period.HOUR: timedelta(days=8),
    Period.DAY: timedelta(days=35),
    Period.MONTH: timedelta(days=400),
}
GROUP_PERIODS = (Period.MINUTE, Period.HOUR, Period.DAY, Period.MONTH)


def bucket_start(period: Period, moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    if period is Period.MINUTE:
        return moment.replace(second=0, microsecond=0)
    if period is Period.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    if period is Period.DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.MONTH:
        return month_start(moment)
    raise ValueError(f"{period} has no buckets")


def bucket_end(period: Period, start: datetime) -> datetime:
    if period is Period.MONTH:
        return next_month_start(start)
    return (
        start
        + {
            Period.MINUTE: timedelta(minutes=1),
            Period.HOUR: timedelta(hours=1),
            Period.DAY: timedelta(days=1),
        }[period]
    )


def payment_amount(event: Mapping[str, Any]) -> float | None:
    """The amount of a ``payment_processed`` event (its ``metadata.amount``), else None."""
    if event["type"] != PAYMENT_EVENT:
        return None
    amount = (event.get("metadata") or {}).get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return None
    return float(amount)


@dataclass
class BucketDelta:
    """What a set of events adds to one counter document."""

    events: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    revenue: float = 0.0
    payments: int = 0
    actors: set[ObjectId] = field(default_factory=set)
    last_active: datetime | None = None

    def add(self, event: EventDocument, *, track_actors: bool) -> None:
        self.events += 1
        self.by_type[event["type"]] = self.by_type.get(event["type"], 0) + 1
        amount = payment_amount(event)
        if amount is not None:
            self.revenue += amount
            self.payments += 1
        actor = event.get("actorId")
        if track_actors and actor is not None:
            self.actors.add(actor)
        timestamp: datetime = event["timestamp"]
        if self.last_active is None or timestamp > self.last_active:
            self.last_active = timestamp

    def merge(self, other: BucketDelta) -> None:
        """Add ``other``'s counts (not its actors or last activity: a recount's use)."""
        self.events += other.events
        for name, n in other.by_type.items():
            self.by_type[name] = self.by_type.get(name, 0) + n
        self.revenue += other.revenue
        self.payments += other.payments

    def negated(self) -> BucketDelta:
        """The counts taken away (not the actors or last activity)."""
        return BucketDelta(
            events=-self.events,
            by_type={name: -n for name, n in self.by_type.items()},
            revenue=-self.revenue,
            payments=-self.payments,
        )

    def update(self, *, last_active: bool = False) -> dict[str, Any]:
        """The update operators adding this delta to a counter document."""
        inc: dict[str, Any] = {"events": self.events}
        inc.update({f"byType.{name}": n for name, n in self.by_type.items()})
        if self.payments:
            inc["revenue"] = self.revenue
            inc["payments"] = self.payments
        update: dict[str, Any] = {"$inc": inc}
        if self.actors:
            update["$addToSet"] = {"actors": {"$each": sorted(self.actors)}}
        if last_active and self.last_active is not None:
            update["$max"] = {"lastActive": self.last_active}
        return update


# (thingId or None for the group, period, bucket start or None for totals)
CounterKey = tuple[ObjectId | None, Period, datetime | None]


def counter_deltas(events: Iterable[EventDocument], now: datetime) -> dict[CounterKey, BucketDelta]:
    """Every counter document the events add to, with what they add.

    Buckets that would already have expired (a back-dated import) are skipped.
    """
    deltas: dict[CounterKey, BucketDelta] = {}
    for event in events:
        timestamp: datetime = event["timestamp"]
        for period in GROUP_PERIODS:
            start = bucket_start(period, timestamp)
            if start + COUNTER_RETENTION[period] <= now:
                continue
            key: CounterKey = (None, period, start)
            deltas.setdefault(key, BucketDelta()).add(event, track_actors=period is Period.DAY)
        if event.get("actorId") is not None:
            key = (event["actorId"], Period.TOTAL, None)
            deltas.setdefault(key, BucketDelta()).add(event, track_actors=False)
    return deltas
