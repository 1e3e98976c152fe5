from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import Api, SettableClock, clock_at
from tests.metrics.support import NOW, Dataset, build_dataset


@pytest.fixture
def clock() -> Iterator[SettableClock]:
    with clock_at(NOW) as settable:
        yield settable


@pytest.fixture
async def dataset(api: Api, clock: SettableClock) -> Dataset:
    return await build_dataset(api.runtime, clock)
