"""Calendar periods (UTC) for usage counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month_start(moment: datetime) -> datetime:
    if moment.month == 12:
        return datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    return datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)


def hour_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now) / timedelta(seconds=1) + 0.999))
