"""Fixtures of the quota tests: a fixed clock for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ontology.kit.clock import set_clock
from tests.quotas.support import T0, FakeClock


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    """Time stands still at ``T0`` unless a test moves it (hour buckets, month periods)."""
    fake = FakeClock(T0)
    set_clock(fake)
    yield fake
    set_clock(None)
