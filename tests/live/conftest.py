from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ontology.config import Settings
from tests.live.client import Served, serve


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[Served]:
    async with serve(settings) as running:
        yield running
        await running.runtime.database.client.drop_database(settings.db_name)
