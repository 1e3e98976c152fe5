"""GraphQL over WebSocket (``graphql-transport-ws``) on ``/graphql``.

The socket is authenticated by its ``connection_init`` message: the payload's
``Authorization: Bearer <key>`` (or, without it, the upgrade request's header),
with the same group rules as HTTP (``X-Ontology-Group`` in the payload or the
upgrade request). A missing, unknown or revoked key closes the socket with
4401, a group the key may not act on with 4403 (``ontology.live.closes``). A
key revoked later closes its sockets as soon as the change stream carries the
revocation (milliseconds; the bound is the stream's delivery delay).

In production (``ONTOLOGY_TRUSTED_DOCUMENTS``) a ``subscribe`` payload runs only a
trusted document, named by ``documentId`` like an HTTP request's.
Each operation takes a token from the key's and the group's rate buckets, as
an HTTP request does (over the rate: an ``error`` message, ``RATE_LIMITED``).
Each operation gets a context of its own (fresh loaders, its own coerced
variables); subscriptions renew the loaders for every message they send.
The server pings every ``subscription_ping_seconds``; it answers pings with
pongs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from cross_web import HTTPException
from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.utils.aio import aclosing

from ontology.api.context import Context, Loaders
from ontology.api.documents import DocumentRefused, TrustedDocuments
from ontology.api.rate_limits import RateRefusal, RequestRateLimiter
from ontology.db.deadline import deadline
from ontology.keys.service import GROUP_HEADER, presented_key_hash
from ontology.kit.errors import AuthenticationError, ForbiddenError, RequestErrorCode
from ontology.live.closes import CloseCode
from ontology.live.connection import LiveConnection
from ontology.live.feed import ChangeFeed
from ontology.live.service import Live
from ontology.runtime import Runtime


def connection_param(payload: Mapping[str, Any], name: str) -> str | None:
    """A ``connection_init`` payload entry by name, whatever its case (or under ``headers``)."""
    sources = [payload]
    headers = payload.get("headers")
    if isinstance(headers, Mapping):
        sources.append(headers)
    wanted = name.lower()
    for source in sources:
        for key, value in source.items():
            if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
                return value
    return None


class LiveWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's, where a message the endpoint refuses to decode (nested too deep, NaN)
    closes the socket like malformed JSON (4400) instead of failing the connection."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        try:
            async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
                yield message
        except HTTPException as error:
            raise NonJsonMessageReceived from error


class LiveTransportHandler(BaseGraphQLTransportWSHandler[Context, None]):
    live_connection: LiveConnection | None = None
    _pinger: asyncio.Task[None] | None = None
    # the change stream this socket holds open (``ChangeFeed.open``), released at its end
    _feed: ChangeFeed | None = None
    # the key's hash and the X-Ontology-Group it connected with (rate buckets)
    _key_hash: str | None = None
    _group_slug: str | None = None

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """In production (``ONTOLOGY_TRUSTED_DOCUMENTS``) a ``subscribe`` payload runs only a
        trusted document, named by ``documentId`` like an HTTP request's.
        Each operation takes a token from its key's and group's rate buckets, as an HTTP
                request does; over the rate it gets an error message (``RATE_LIMITED``)."""
        if self.connection_acknowledged and message["id"] not in self.operations:
            documents: TrustedDocuments | None = getattr(self.view, "trusted_documents", None)
            try:
                if documents is not None and isinstance(message.get("payload"), dict):
                    message["payload"] = documents.resolve(message["payload"])  # type: ignore[typeddict-item]
            except DocumentRefused as refused:
                await self._refuse(message["id"], refused.message, {"code": refused.code.value})
                return
        refusal = self._rate_refusal()
        if refusal is None or message["id"] in self.operations:
            await super().handle_subscribe(message)
            return
        self.context.runtime.metrics.rate_limited.labels(refusal.scope.value).inc()
        extensions = {
            "code": RequestErrorCode.RATE_LIMITED.value,
            "scope": refusal.scope.value,
            "retryAfter": refusal.retry_after,
        }
        await self._refuse(message["id"], refusal.message, extensions)

    async def _refuse(self, op_id: str, message: str, extensions: dict[str, Any]) -> None:
        """An ``error`` message for an operation that does not start."""
        await self.send_message(
            {
                "id": op_id,
                "type": "error",
                "payload": [{"message": message, "extensions": extensions}],
            }
        )

    def _rate_refusal(self) -> RateRefusal | None:
        limiter: RequestRateLimiter | None = getattr(self.view, "rate_limiter", None)
        if not self.connection_acknowledged or limiter is None or self._key_hash is None:
            return None
        return limiter.admit(self._key_hash, self._group_slug, self.context.group_id)

    @property
    def socket(self) -> WebSocket:
        socket: WebSocket = self.websocket.ws  # type: ignore[attr-defined]
        return socket

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            await self.websocket.close(4400, "Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(4429, "Too many initialisation requests")
            return
        self.connection_init_received = True
        socket = self.socket
        runtime: Runtime = socket.app.state.runtime
        live: Live = socket.app.state.live
        authorization = connection_param(payload, "Authorization") or socket.headers.get(
            "authorization"
        )
        group = connection_param(payload, GROUP_HEADER) or socket.headers.get(GROUP_HEADER)
        try:
            with deadline(runtime.settings.db_timeout_ms / 1000 or None):
                caller = await runtime.services.keys.authenticate(authorization, group)
        except AuthenticationError as error:
            await self.websocket.close(CloseCode.UNAUTHENTICATED, str(error))
            return
        except ForbiddenError as error:
            await self.websocket.close(CloseCode.FORBIDDEN, str(error))
            return
        # the stream is open before the ack: every change committed after it is delivered
        try:
            async with asyncio.timeout(runtime.settings.db_timeout_ms / 1000 or None):
                await live.feed.open()
        except TimeoutError:
            await self.websocket.close(
                CloseCode.RECONNECT, "Live updates are unavailable for now; reconnect."
            )
            return
        self._feed = live.feed
        self._key_hash = presented_key_hash(authorization)
        self._group_slug = group
        connection = LiveConnection(
            live.hub,
            caller.key_id,
            caller.group_id,
            self._close_socket,
            max_subscriptions=live.settings.subscriptions_per_connection,
        )
        self.live_connection = connection
        live.hub.add_connection(caller.key_id, connection)
        self.context = Context(
            runtime=runtime,
            caller=caller,
            loaders=Loaders(runtime, caller.group_id),
            request=socket,
            response=None,
            request_id=getattr(socket.state, "request_id", ""),
            live=connection,
        )
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        every = live.settings.subscription_ping_seconds
        if every:
            self._pinger = asyncio.create_task(self._ping(every))

    async def _close_socket(self, code: int, reason: str) -> None:
        await self.websocket.close(code, reason)

    async def _ping(self, every: float) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(every)
                await self.send_message({"type": "ping"})

    def operation_context(self) -> Context:
        """A context of the operation's own: fresh loaders, nothing shared with the others."""
        context = self.context
        return dataclasses.replace(
            context,
            loaders=Loaders(context.runtime, context.group_id),
            coerced_variables=None,
        )

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        # strawberry's, with a context per operation instead of the connection's
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.operation_context(),
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                await self._send_result_stream(operation, result_source)
            await operation.send_operation_message(
                CompleteMessage(id=operation.id, type="complete")
            )
        except _OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def shutdown(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
        connection = self.live_connection
        if connection is not None:
            for subscriber in list(connection.subscribers):
                connection.unsubscribe(subscriber)
            connection.hub.remove_connection(connection.key_id, connection)
        if self._feed is not None:
            self._feed.release()
            self._feed = None
        await super().shutdown()
