"""The current time, in one place: every module reads it with ``utcnow()``.

``set_clock`` replaces it; tests move time with it (``tests/factories.SettableClock``,
``clock_at``). Production never calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# The start of stored time: event sort keys count milliseconds from here.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def utcnow() -> datetime:
    """Now in UTC, truncated to milliseconds (MongoDB's resolution)."""
    now = _now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def set_clock(now: Callable[[], datetime] | None) -> None:
    """Replace the clock; ``None`` restores the system clock."""
    global _now
    _now = now or _system_now
