"""API-call metering without a database round trip per request.

Each process counts operations in memory per (group, month) and flushes the
increments with one ``$inc`` per group at least once a second (and on shutdown).
Reading the current value costs one query per group the first time a process
sees it in a period; after that the flushed value is cached.

What a crash can cost: the increments of at most one flush interval (1 s) in
that process are lost, so the stored count can be short by the calls that
process served in its last second. How far a limit can be overshot: each
process admits calls until its own view (stored value + its unflushed calls)
reaches the limit, so N processes can together admit up to about N times (calls per
process per second) beyond it before their flushes make the others see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from bson import ObjectId

from ontology.kit.clock import utcnow
from ontology.ledger.periods import month_start, next_month_start
from ontology.ledger.plans import Metric
from ontology.ledger.usage import UsageRepository

log = logging.getLogger("ontology.quotas")

FLUSH_INTERVAL_SECONDS = 1.0
# Period documents stay a while after their month for reporting, then expire.
RETENTION_AFTER_PERIOD = timedelta(days=100)
METRIC = Metric.API_CALLS_PER_MONTH.value


class ApiCallMeter:
    def __init__(self, usage: UsageRepository) -> None:
        self.usage = usage
        self._pending: dict[tuple[ObjectId, datetime], int] = defaultdict(int)
        self._flushed: dict[tuple[ObjectId, datetime], int] = {}
        self._lock = asyncio.Lock()

    def record(self, group_id: ObjectId, calls: int = 1) -> None:
        self._pending[(group_id, month_start(utcnow()))] += calls

    async def current(self, group_id: ObjectId) -> int:
        """Calls this month: stored value (cached after the first read) + unflushed ones."""
        key = (group_id, month_start(utcnow()))
        if key not in self._flushed:
            self._flushed[key] = await self.usage.value(group_id, METRIC, key[1])
        return self._flushed[key] + self._pending.get(key, 0)

    async def current_many(self, group_ids: list[ObjectId]) -> dict[ObjectId, int]:
        """``current`` of each group: one query for those not read yet this period."""
        period = month_start(utcnow())
        unread = [g for g in group_ids if (g, period) not in self._flushed]
        if unread:
            stored = await self.usage.values(unread, METRIC, period)
            for group_id in unread:
                self._flushed.setdefault((group_id, period), stored[group_id])
        return {
            g: self._flushed[(g, period)] + self._pending.get((g, period), 0) for g in group_ids
        }

    async def flush(self) -> None:
        async with self._lock:
            pending, self._pending = self._pending, defaultdict(int)
            for (group_id, period), calls in pending.items():
                try:
                    value = await self.usage.add(
                        group_id,
                        METRIC,
                        period,
                        calls,
                        next_month_start(period) + RETENTION_AFTER_PERIOD,
                    )
                except Exception:
                    # Keep the calls for the next flush rather than lose them.
                    self._pending[(group_id, period)] += calls
                    raise
                self._flushed[(group_id, period)] = value
            current_period = month_start(utcnow())
            for key in [k for k in self._flushed if k[1] < current_period]:
                del self._flushed[key]

    async def run(self, interval: float = FLUSH_INTERVAL_SECONDS) -> None:
        """Flush every ``interval`` seconds until cancelled, then flush once more."""
        try:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.flush()
                except Exception:
                    log.exception("api call flush failed; retrying next interval")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())
