"""At most N of something at once per key, refusing (never queueing) the one too many."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class ConcurrencySlots(Generic[K]):
    """``limit`` slots per key in this process; memory holds only keys with a slot in use."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit >= 1 is required")
        self.limit = limit
        self._in_use: dict[K, int] = {}

    def in_use(self, key: K) -> int:
        return self._in_use.get(key, 0)

    def try_acquire(self, key: K) -> bool:
        """Take one of ``key``'s slots; ``False`` (nothing taken) when all are in use."""
        held = self._in_use.get(key, 0)
        if held >= self.limit:
            return False
        self._in_use[key] = held + 1
        return True

    def release(self, key: K) -> None:
        held = self._in_use.get(key, 0) - 1
        if held > 0:
            self._in_use[key] = held
        else:
            self._in_use.pop(key, None)
