"""Live updates of one API process: the hub and the feed (open while sockets listen)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ontology.config import Settings
from ontology.db.client import Database
from ontology.kit.metrics import Metrics
from ontology.live.feed import ChangeFeed
from ontology.live.hub import Hub
from ontology.live.metrics import LiveMetrics


@dataclass(frozen=True)
class Live:
    hub: Hub
    feed: ChangeFeed
    settings: Settings


@asynccontextmanager
async def run_live(settings: Settings, database: Database, metrics: Metrics) -> AsyncIterator[Live]:
    """The process's hub and its one change stream (``ChangeFeed.open``), for the block."""
    hub = Hub(
        LiveMetrics(metrics.registry),
        per_key=settings.subscriptions_per_key,
        per_group=settings.subscriptions_per_group,
        capacity=settings.subscription_queue_size,
    )
    feed = ChangeFeed(
        database,
        hub,
        resume_seconds=settings.live_resume_seconds,
        linger_seconds=settings.live_feed_linger_seconds,
    )
    await feed.prepare()
    try:
        yield Live(hub=hub, feed=feed, settings=settings)
    finally:
        await feed.stop()
