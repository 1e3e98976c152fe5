"""Token buckets in process memory: a request rate with a burst, per key of any kind.

A bucket holds at most ``burst`` tokens and gains ``per_second`` of them every
second; a request takes one. A bucket that has refilled to ``burst`` carries no
information (a new bucket starts full), so it is forgotten: memory holds only
the buckets of keys seen recently enough to be below full, and never more than
``max_buckets`` (past that the least recently used bucket is forgotten, which
can only ever let that key through earlier, never refuse it wrongly).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

# Full buckets dropped per ``take``: enough to keep up with the arrival of new keys.
SWEEP_PER_TAKE = 2


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets(Generic[K]):
    """One token bucket per key; ``take`` spends a token or says how long to wait."""

    def __init__(
        self,
        per_second: float,
        burst: int,
        *,
        max_buckets: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second <= 0 or burst < 1 or max_buckets < 1:
            raise ValueError("per_second > 0, burst >= 1 and max_buckets >= 1 are required")
        self.per_second = per_second
        self.burst = burst
        self.max_buckets = max_buckets
        self._clock = clock
        # least recently used first
        self._buckets: OrderedDict[K, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, bucket: _Bucket, now: float) -> float:
        return min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)

    def wait(self, key: K) -> float:
        """Seconds until ``key`` may take a token (0: now); takes nothing, creates nothing."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = self._tokens(bucket, self._clock())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.per_second

    def take(self, key: K) -> float:
        """Spend one of ``key``'s tokens and return 0, or return the wait and spend nothing."""
        now = self._clock()
        # Refilled buckets go first, so making room rarely drops one that holds state.
        self._sweep(now, keep=key)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._make_room()
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            self._buckets.move_to_end(key)
        bucket.tokens = self._tokens(bucket, now)
        bucket.updated = now
        if bucket.tokens < 1:
            return (1 - bucket.tokens) / self.per_second
        bucket.tokens -= 1
        return 0.0

    def _make_room(self) -> None:
        while len(self._buckets) >= self.max_buckets:
            self._buckets.popitem(last=False)

    def _sweep(self, now: float, keep: K) -> None:
        """Forget the oldest buckets that have refilled (they equal a fresh bucket)."""
        for _ in range(SWEEP_PER_TAKE):
            oldest = next(iter(self._buckets), None)
            if oldest is None or oldest == keep:
                return
            if self._tokens(self._buckets[oldest], now) < self.burst:
                return
            del self._buckets[oldest]


def retry_after_seconds(wait: float) -> int:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return max(1, math.ceil(wait))
