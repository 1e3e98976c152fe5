"""/healthz and /readyz."""

from __future__ import annotations

from pathlib import Path

import httpx

from ontology.app import create_app
from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from tests.factories import Api


async def test_health_and_readiness(api: Api) -> None:
    health = await api.client.get("/healthz")
    ready = await api.client.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_readyz_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path)
    server.start()
    settings = Settings(mongodb_uri=server.uri, db_name="readyz", data_dir=tmp_path)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                server.stop()
                response = await client.get("/readyz")
                health = await client.get("/healthz")
    finally:
        server.stop()

    # the change stream notices the server gone first, so PyMongo waits to select a
    # server again and the readiness check's own time limit answers
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "TimeoutError"}
    assert health.status_code == 200
