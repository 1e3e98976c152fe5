"""Fixtures of the quota tests: a fixed clock for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import SettableClock, clock_at
from tests.quotas.support import T0


@pytest.fixture(autouse=True)
def clock() -> Iterator[SettableClock]:
    """Time stands still at ``T0`` unless a test moves it (hour buckets, month periods)."""
    with clock_at(T0) as settable:
        yield settable
