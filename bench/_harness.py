"""Shared benchmark plumbing: a private embedded server, a runtime, an in-process client."""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ontology.app import create_app
from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from ontology.runtime import Runtime


@dataclass
class Bench:
    settings: Settings
    runtime: Runtime
    client: httpx.AsyncClient

    async def gql(self, key: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {key}"},
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body


@asynccontextmanager
async def bench_app() -> AsyncIterator[Bench]:
    with tempfile.TemporaryDirectory(prefix="ontology-bench-") as tmp:
        server = EmbeddedServer(Path(tmp))
        server.start()
        try:
            settings = Settings(
                mongodb_uri=server.uri,
                db_name=f"bench_{uuid.uuid4().hex[:8]}",
                data_dir=Path(tmp),
                log_level="WARNING",
            )
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                    yield Bench(settings, app.state.runtime, c)
        finally:
            server.stop()


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000
