"""``create_app()``: the Starlette application, its lifespan and routes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from ontology.api.documents import TrustedDocuments
from ontology.api.endpoint import GraphQLEndpoint
from ontology.api.graphiql import load_examples, operation_names, render_page, static_mount
from ontology.api.http_tracing import TracingMiddleware
from ontology.api.rate_limits import RequestRateLimiter
from ontology.api.schema import create_schema
from ontology.config import Settings
from ontology.jobs.archival import refresh_failed_groups_metric
from ontology.jobs.scheduler import Scheduler
from ontology.keys.service import bearer_token
from ontology.kit import tracing
from ontology.kit.logs import configure_logging
from ontology.live.service import run_live
from ontology.runtime import Runtime, open_runtime

READY_TIMEOUT_SECONDS = 2.0

OnReady = Callable[[Runtime], Awaitable[None]]


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether ``Authorization: Bearer <token>`` names ``token``, compared in constant time.

    Both sides are hashed first so the comparison takes as long whatever the
    presented value's length.
    """
    presented = bearer_token(authorization) or ""
    digest = hashlib.sha256(presented.encode()).digest()
    return hmac.compare_digest(digest, hashlib.sha256(token.encode()).digest())


class ASGIEndpoint:
    """An ASGI function as a route's app (Starlette calls plain functions with a request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it to end, cancelling it again while it runs on (a
    database call it was in when the server went away may end the first cancellation
    in an error of its own, which the task's loop logs before it sleeps)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(
    settings: Settings | None = None,
    on_ready: OnReady | None = None,
    *,
    run_scheduler: bool = False,
) -> Starlette:
    """The ASGI app. ``on_ready`` runs once the database is up (``serve --demo`` seeds there);
    ``run_scheduler`` runs the scheduled jobs in-process (``ontology serve`` unless
    ``--no-scheduler``), under the same lease as ``ontology scheduler``."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    tracing.configure_from_env()  # OTEL_TRACES_EXPORTER: off unless set

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            open_runtime(settings, reuse_running_server=False) as runtime,
            run_live(settings, runtime.database, runtime.metrics) as live,
        ):
            app.state.runtime = runtime
            app.state.live = live
            runtime.metrics.trust_operations(trusted_operations)
            if on_ready is not None:
                await on_ready(runtime)
            flusher = asyncio.create_task(runtime.services.quotas.meter.run())
            sweeper = asyncio.create_task(runtime.services.ledger.release_expired_forever())
            scheduler = Scheduler(runtime) if run_scheduler else None
            if scheduler is not None:
                await scheduler.start()
            try:
                yield
            finally:
                if scheduler is not None:
                    await scheduler.stop()
                for task in (flusher, sweeper):
                    await _stop(task)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        try:
            await asyncio.wait_for(runtime.database.ping(), READY_TIMEOUT_SECONDS)
        except Exception as error:  # any failure means "not ready"
            return JSONResponse(
                {"status": "unavailable", "database": type(error).__name__}, status_code=503
            )
        return JSONResponse({"status": "ready"})

    async def metrics(scope: Scope, receive: Receive, send: Send) -> None:
        """``GET /metrics``: prometheus-client's ASGI app (text or OpenMetrics by
        ``Accept``, gzip by ``Accept-Encoding``), behind the bearer token if one is set."""
        request = Request(scope, receive)
        runtime: Runtime = request.app.state.runtime
        token = settings.metrics_token
        if token is not None and not bearer_matches(
            request.headers.get("authorization"), token.get_secret_value()
        ):
            refused = JSONResponse(
                {"error": "GET /metrics needs `Authorization: Bearer <ONTOLOGY_METRICS_TOKEN>`."},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
            await refused(scope, receive, send)
            return
        await refresh_failed_groups_metric(runtime)
        await runtime.metrics.asgi_app(scope, receive, send)

    graphql = GraphQLEndpoint(
        create_schema(settings),
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        max_json_depth=settings.max_json_depth,
        max_body_bytes=settings.max_body_bytes,
        rate_limiter=RequestRateLimiter.from_settings(settings),
        trusted_documents=TrustedDocuments.from_mode(settings.trusted_documents_mode),
        document_max_age=settings.trusted_documents_max_age,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
    examples = load_examples()
    graphql.graphiql_page = render_page(examples)
    trusted_operations = operation_names(examples)
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", ASGIEndpoint(metrics), methods=["GET"]),
            static_mount(),
        ],
        lifespan=lifespan,
        middleware=[Middleware(TracingMiddleware)],
    )
