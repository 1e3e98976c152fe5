"""``realtimeMetrics``: the group's last hour, pushed when its minute counters change."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

import strawberry

from ontology.api.live import Info, coalesced, connection_of
from ontology.api.metrics.types import RealtimeMetrics
from ontology.kit.clock import utcnow
from ontology.ledger.buckets import Period
from ontology.live.changes import Change, usage_topic

# at most one message a second, however busy the group
EVERY_SECONDS = 1.0


def minute_counter(change: Change) -> bool:
    document = change.document or {}
    return change.collection == "counters" and document.get("period") == Period.MINUTE.value


@strawberry.type
class MetricsSubscriptions:
    @strawberry.subscription(
        description="The group's realtime metrics: now, then whenever its minute counters "
        "change, at most one message a second (changes within the second are one message). "
        "Events leaving the hour as time passes push nothing."
    )
    async def realtime_metrics(self, info: Info) -> AsyncGenerator[RealtimeMetrics, None]:
        connection = connection_of(info)
        context = info.context
        metrics = context.services.metrics
        subscriber = connection.subscribe(usage_topic(context.group_id), "metrics", minute_counter)
        try:
            sent = RealtimeMetrics.of(await metrics.realtime(context.group_id, utcnow()))
            yield sent
            sent_at = time.monotonic()
            while True:
                await coalesced(subscriber, sent_at, EVERY_SECONDS)
                now = RealtimeMetrics.of(await metrics.realtime(context.group_id, utcnow()))
                if now != sent:
                    sent, sent_at = now, time.monotonic()
                    yield sent
        finally:
            connection.unsubscribe(subscriber)
