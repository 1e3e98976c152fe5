"""Shared fixtures: one real SecantusDB server per session, one database per test.

Nothing here mocks MongoDB: every test talks to the embedded server over the
wire protocol, exactly as the application does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from ontology.app import create_app
from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from ontology.runtime import Runtime, open_runtime
from tests.factories import Api


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    data_dir = tmp_path_factory.mktemp("secantus")
    server = EmbeddedServer(data_dir, test_commands=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(mongo_server: EmbeddedServer, tmp_path: Path) -> Settings:
    return Settings(
        mongodb_uri=mongo_server.uri,
        db_name=f"test_{uuid.uuid4().hex[:12]}",
        data_dir=tmp_path / "data",
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The application's runtime on a fresh database, dropped afterwards."""
    async with open_runtime(settings) as opened:
        yield opened
        await opened.services.ledger.close()  # before the drop: it may write
        await opened.database.client.drop_database(settings.db_name)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    """The ASGI app with its lifespan running, an HTTP client, and its runtime."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            runtime: Runtime = app.state.runtime
            yield Api(client=client, runtime=runtime)
        await runtime.services.ledger.close()  # before the drop: it may write
        await runtime.database.client.drop_database(settings.db_name)
