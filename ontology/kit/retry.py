"""Exponential backoff with jitter for throttled and transient failures."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("ontology.retry")

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Backoff:
    """Retry a step up to ``retries`` times, waiting longer each time.

    The ``n``-th wait (from 0) is drawn from ``[d/2, d]`` with ``d = min(cap, base * 2**n)``
    ("equal jitter"): waits never shrink from one retry to the next, and
    concurrent workers throttled together spread out.
    """

    base_seconds: float = 0.5
    cap_seconds: float = 60.0
    retries: int = 10
    sleep: Sleep = asyncio.sleep
    jitter: Callable[[float, float], float] = random.uniform
    waits: list[float] = field(default_factory=list)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * float(2**attempt))
        return ceiling / 2 + float(self.jitter(0.0, ceiling / 2))

    async def run(
        self,
        operation: Callable[[], Awaitable[T]],
        what: str,
        is_transient: Callable[[BaseException], bool],
    ) -> T:
        """``operation()``, retried on transient errors; the last error when retries run out."""
        attempt = 0
        while True:
            try:
                return await operation()
            except Exception as error:
                if not is_transient(error) or attempt >= self.retries:
                    raise
                wait = self.delay(attempt)
                self.waits.append(wait)
                log.warning(
                    "retrying after a transient error",
                    extra={
                        "step": what,
                        "attempt": attempt + 1,
                        "waitSeconds": round(wait, 3),
                        "error": str(error),
                    },
                )
                attempt += 1
                await self.sleep(wait)
