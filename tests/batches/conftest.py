"""Fixtures of the batch tests: an app with a small batch limit, and clean global state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ontology.config import Settings
from ontology.kit.clock import set_clock
from tests.batches.support import serve
from tests.factories import Api

SMALL_BATCH = 5


@pytest.fixture(autouse=True)
def system_clock() -> Iterator[None]:
    """Whatever a test does with the clock, the next one starts on the system clock."""
    yield
    set_clock(None)


@pytest.fixture
async def small_api(settings: Settings) -> AsyncIterator[Api]:
    """Like ``api``, with ``batch_max_items`` = 5."""
    small = settings.model_copy(update={"batch_max_items": SMALL_BATCH})
    async with serve(small) as api:
        yield api
        await api.runtime.database.client.drop_database(small.db_name)
