"""The metric registry: one small definition per computed metric.

A creator metric is a function of the thing and its running totals; a group
metric names the sources it needs (each one command, loaded once per request
and shared by every metric that needs it) and computes from them. Adding a
metric is one entry here and one field on the GraphQL type (a test checks that
the two agree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ontology.db.client import Document
from ontology.things.documents import ThingDocument

ACTIVE_WITHIN = timedelta(days=30)  # a creator is active with an event in the last 30 days
WEEK_DAYS = 7


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _connections(thing: Mapping[str, Any], connection_type: str, direction: str) -> int:
    by_type = (thing.get("connectionCounts") or {}).get("byType") or {}
    return int((by_type.get(connection_type) or {}).get(direction, 0))


@dataclass(frozen=True)
class CreatorFacts:
    """A thing, its running totals as an actor (None: no events yet) and the time of the read."""

    thing: ThingDocument
    totals: Document | None
    now: datetime

    def total(self, name: str) -> Any:
        return (self.totals or {}).get(name, 0)

    @property
    def followers(self) -> int:
        return _connections(self.thing, "following", "inbound")

    @property
    def content(self) -> int:
        return _connections(self.thing, "authored", "outbound") + _connections(
            self.thing, "created_by", "inbound"
        )

    @property
    def last_active(self) -> datetime | None:
        return (self.totals or {}).get("lastActive")


CREATOR_METRICS: dict[str, Callable[[CreatorFacts], Any]] = {
    "total_revenue": lambda f: float(f.total("revenue")),
    "total_followers": lambda f: f.followers,
    "content_count": lambda f: f.content,
    "average_engagement": lambda f: _ratio(f.followers, f.content),
    "last_active": lambda f: f.last_active,
    "total_events": lambda f: int(f.total("events")),
    "events_by_type": lambda f: sorted(((f.totals or {}).get("byType") or {}).items()),
    "is_active": lambda f: f.last_active is not None and f.last_active > f.now - ACTIVE_WITHIN,
    "account_age": lambda f: (f.now - f.thing["createdAt"]).days,
    "revenue_per_content": lambda f: _ratio(float(f.total("revenue")), f.content),
    "last_computed": lambda f: f.now,
}


class Source(StrEnum):
    """What group metrics read besides the group document; each is one command."""

    MONTH = "month"  # this month's counter
    DAYS = "days"  # the last 14 days' counters
    API_CALLS = "api_calls"  # this month's API calls (cached by the meter)
    # the most connected content and the engagement totals: the group's counters and
    # engagement board, and the top things by id (ontology/things/engagement.py)
    CONTENT = "content"


@dataclass(frozen=True)
class Content:
    top: list[ThingDocument]
    inbound: int  # inbound connections of all live content
    count: int  # live content things


@dataclass(frozen=True)
class GroupFacts:
    group: Mapping[str, Any]  # a GroupDocument, its counters read by name
    now: datetime
    sources: dict[Source, Any] = field(default_factory=dict)

    def count(self, name: str) -> int:
        return int((self.group.get("counts") or {}).get(name, 0))

    @property
    def month(self) -> Document:
        month: Document = self.sources[Source.MONTH] or {}
        return month

    def days(self, start: int, end: int) -> list[Document]:
        """Day counters from ``start`` to ``end`` days ago (0 = today), oldest first."""
        today = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        since, until = today - timedelta(days=end - 1), today + timedelta(days=1 - start)
        return [d for d in self.sources[Source.DAYS] if since <= d["start"] < until]

    def events_in_days(self, start: int, end: int) -> int:
        return sum(int(d.get("events", 0)) for d in self.days(start, end))

    @property
    def this_week(self) -> int:
        return self.events_in_days(0, WEEK_DAYS)

    @property
    def previous_week(self) -> int:
        return self.events_in_days(WEEK_DAYS, 2 * WEEK_DAYS)

    @property
    def content(self) -> Content:
        content: Content = self.sources[Source.CONTENT]
        return content


@dataclass(frozen=True)
class GroupMetric:
    needs: tuple[Source, ...]
    compute: Callable[[GroupFacts], Any]


GROUP_METRICS: dict[str, GroupMetric] = {
    "user_count": GroupMetric((), lambda f: f.count("people")),
    "active_users": GroupMetric(
        (Source.DAYS,),
        lambda f: len({a for d in f.days(0, WEEK_DAYS) for a in d.get("actors", ())}),
    ),
    "total_entities": GroupMetric((), lambda f: f.count("things")),
    "storage_used": GroupMetric((), lambda f: f.count("storageBytes")),
    "api_calls_this_month": GroupMetric((Source.API_CALLS,), lambda f: f.sources[Source.API_CALLS]),
    "revenue_this_month": GroupMetric((Source.MONTH,), lambda f: float(f.month.get("revenue", 0))),
    "events_this_month": GroupMetric((Source.MONTH,), lambda f: int(f.month.get("events", 0))),
    "events_this_week": GroupMetric((Source.DAYS,), lambda f: f.this_week),
    "top_content_by_engagement": GroupMetric((Source.CONTENT,), lambda f: f.content.top),
    "average_engagement_per_content": GroupMetric(
        (Source.CONTENT,), lambda f: _ratio(f.content.inbound, f.content.count)
    ),
    "avg_events_per_user": GroupMetric(
        (Source.MONTH,), lambda f: _ratio(f.month.get("events", 0), f.count("people"))
    ),
    "avg_revenue_per_user": GroupMetric(
        (Source.MONTH,), lambda f: _ratio(f.month.get("revenue", 0), f.count("people"))
    ),
    "is_active": GroupMetric((Source.DAYS,), lambda f: f.this_week > 0),
    "trending_up": GroupMetric((Source.DAYS,), lambda f: f.this_week > f.previous_week),
}
