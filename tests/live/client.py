"""A graphql-transport-ws client of our own (wsproto over an asyncio socket), and a real
server: the app under uvicorn on a loopback port, so tests go through real sockets
(flow control included: a client that stops reading makes the server's sends wait)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from ontology.app import create_app
from ontology.config import Settings
from ontology.db.embedded import free_port
from ontology.live.service import Live
from ontology.runtime import Runtime
from tests.factories import Api

PROTOCOL = "graphql-transport-ws"


@dataclass
class Closed:
    code: int
    reason: str


@dataclass
class WsClient:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ws: WSConnection
    subprotocol: str | None = None
    pending: list[Any] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    closed: Closed | None = None

    @classmethod
    async def open(
        cls,
        port: int,
        headers: dict[str, str] | None = None,
        subprotocols: tuple[str, ...] = (PROTOCOL,),
        receive_buffer: int | None = None,
    ) -> WsClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        limit = receive_buffer or 2**16
        reader, writer = await asyncio.open_connection(sock=sock, limit=limit)
        ws = WSConnection(ConnectionType.CLIENT)
        client = cls(reader, writer, ws)
        writer.write(
            ws.send(
                Request(
                    host=f"127.0.0.1:{port}",
                    target="/graphql",
                    subprotocols=list(subprotocols),
                    extra_headers=[(k.encode(), v.encode()) for k, v in (headers or {}).items()],
                )
            )
        )
        await writer.drain()
        while True:
            event = await client._event()
            if isinstance(event, AcceptConnection):
                client.subprotocol = event.subprotocol
                return client
            if isinstance(event, RejectConnection):
                raise ConnectionRefusedError(event.status_code)

    async def _event(self, wait: float = 10.0) -> Any:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), wait)
            self.ws.receive_data(data or None)
            self.pending.extend(self.ws.events())
        return self.pending.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(self.ws.send(TextMessage(json.dumps(message))))
        await self.writer.drain()

    async def receive(self, wait: float = 10.0) -> dict[str, Any] | Closed:
        """The next message (pongs to pings are sent), or how the socket closed."""
        while True:
            if self.closed is not None:
                return self.closed
            event = await self._event(wait)
            if isinstance(event, TextMessage):
                self.text.append(event.data)
                if event.message_finished:
                    message: dict[str, Any] = json.loads("".join(self.text))
                    self.text = []
                    return message
            elif isinstance(event, Ping):
                self.writer.write(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.closed = Closed(event.code, event.reason)
                with contextlib.suppress(Exception):
                    self.writer.write(self.ws.send(event.response()))
                return self.closed

    async def init(self, key: str | None, **payload: Any) -> dict[str, Any] | Closed:
        if key is not None:
            payload["Authorization"] = f"Bearer {key}"
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await self.send({"id": op_id, "type": "subscribe", "payload": payload})

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


@dataclass
class Served:
    app: Starlette
    port: int
    api: Api
    clients: list[WsClient] = field(default_factory=list)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    @property
    def live(self) -> Live:
        live: Live = self.app.state.live
        return live

    async def connect(self, key: str | None, **options: Any) -> WsClient:
        """A socket that sent its connection_init and got the ack."""
        client = await self.open(**options)
        ack = await client.init(key)
        assert ack == {"type": "connection_ack"}, ack
        return client

    async def open(self, **options: Any) -> WsClient:
        """A socket (closed when the test ends), before its connection_init."""
        client = await WsClient.open(self.port, **options)
        self.clients.append(client)
        return client

    async def subscribed(self, count: int, wait: float = 5.0) -> None:
        """Wait until ``count`` subscriptions are in the hub (subscribing has no answer)."""
        deadline = asyncio.get_running_loop().time() + wait
        while self.live.hub.count() != count:
            assert asyncio.get_running_loop().time() < deadline, self.live.hub.count()
            await asyncio.sleep(0.01)


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Served]:
    """The app under uvicorn (wsproto) on a free loopback port, its lifespan running."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="wsproto", lifespan="on", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), task.exception()
        await asyncio.sleep(0.01)
    served: Served | None = None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            served = Served(app=app, port=port, api=Api(client=client, runtime=app.state.runtime))
            yield served
    finally:
        for ws in served.clients if served else []:
            await ws.close()
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), 3)
        except TimeoutError:
            server.force_exit = True  # a socket a failed test left open
            await task
