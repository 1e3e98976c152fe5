"""Live updates under load: 1,000 subscriptions over 10 tenants and a steady write load.

The API runs as ``ontology serve`` in its own process on a loopback port, with its
one change stream; clients are real WebSockets (the test client of ``tests/live``)
in the bench's process. Mixed subscriptions:
per tenant, thingChanged on each of its things (three each), eventAdded on the
target of each of its things (one each) and connectionsChanged (one each). Then
thing updates over HTTP, one after another, and it reports:

- commit-to-delivery latency (p50/p99): the message's arrival against the
  thing's ``updatedAt`` (set in the write's transaction, same clock);
- wake-ups per change, against the subscriptions that read the changed thing
  (its thingChanged subscribers and the eventAdded subscribers of its
  ``thing_updated`` event): equal means no subscription was woken for nothing;
- memory per subscription (the server process's RSS, before and after opening);
- the write path with the subscriptions open against none (same server: the
  updates before they are opened and after they are closed, median per update).

Run: python bench/subscriptions.py [--tenants 10] [--things 20] [--updates 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from subprocess import STDOUT
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer, free_port
from ontology.runtime import open_runtime
from tests.factories import Api, create_thing, make_tenant
from tests.live.client import WsClient

ONTOLOGY = str(Path(sys.executable).parent / "ontology")

THING = "subscription($id: ID!) { thingChanged(id: $id) { kind thing { updatedAt } } }"
EVENTS = "subscription($id: ID!) { eventAdded(targetId: $id) { timestamp } }"
CONNECTIONS = "subscription($id: ID!) { connectionsChanged(thingId: $id) { kind } }"
UPDATE = """
mutation($input: UpdateThingInput!) { updateThing(input: $input) { errors { code } } }
"""
SUBS_PER_SOCKET = 20


def stamp(message: dict[str, Any]) -> float | None:
    data = (message.get("payload") or {}).get("data") or {}
    if "thingChanged" in data:
        value = data["thingChanged"]["thing"]["updatedAt"]
    elif "eventAdded" in data:
        value = data["eventAdded"]["timestamp"]
    else:
        return None
    return datetime.fromisoformat(value).timestamp()


async def reader(client: WsClient, latencies: list[float], received: list[int]) -> None:
    while True:
        message = await client.receive(wait=3600)
        if not isinstance(message, dict):
            return
        at = stamp(message)
        if at is not None:
            latencies.append(time.time() - at)
            received[0] += 1


async def updates(
    api: Api, keys: list[str], things: list[list[str]], n: int, phase: str
) -> list[float]:
    """``n`` updates (each a real change: the name is new), one after another."""
    took = []
    for i in range(n):
        tenant = i % len(things)
        thing = things[tenant][(i // len(things)) % len(things[tenant])]
        started = time.perf_counter()
        body = await api.data(keys[tenant], UPDATE, {"input": {"id": thing, "name": f"{phase}{i}"}})
        took.append(time.perf_counter() - started)
        assert body["updateThing"]["errors"] == []
    return took


class Server:
    """``ontology serve`` in a process of its own (the bench's clients do not share its CPU
    time slice or its event loop), on the bench's embedded database."""

    def __init__(self, settings: Settings, port: int, log: Path) -> None:
        env = {
            **os.environ,
            "ONTOLOGY_MONGODB_URI": str(settings.mongodb_uri),
            "ONTOLOGY_DB_NAME": settings.db_name,
            "ONTOLOGY_DATA_DIR": str(settings.data_dir),
            "ONTOLOGY_PORT": str(port),
            "ONTOLOGY_LOG_LEVEL": "WARNING",
            "ONTOLOGY_SUBSCRIPTIONS_PER_KEY": "10000",
            "ONTOLOGY_SUBSCRIPTIONS_PER_GROUP": "10000",
            "ONTOLOGY_RATE_LIMIT_PER_KEY": "0",
            "ONTOLOGY_RATE_LIMIT_PER_GROUP": "0",
        }
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [ONTOLOGY, "serve", "--no-scheduler"], env=env, stdout=log.open("w"), stderr=STDOUT
        )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.process.poll() is None, "ontology serve exited"
                await asyncio.sleep(0.2)
        raise AssertionError("ontology serve did not start")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    async def metric(self, client: httpx.AsyncClient, name: str) -> float:
        text = (await client.get(f"{self.url}/metrics")).text
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)


async def main(tenants: int, per_tenant: int, n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ontology-bench-") as tmp:
        database = EmbeddedServer(Path(tmp) / "db")
        database.start()
        try:
            settings = Settings(
                mongodb_uri=database.uri,
                db_name=f"bench_{uuid.uuid4().hex[:8]}",
                data_dir=Path(tmp) / "data",
                log_level="WARNING",
            )
            port = free_port()
            server = Server(settings, port, Path(tmp) / "serve.log")
            try:
                await server.ready()
                async with (
                    open_runtime(settings) as runtime,
                    httpx.AsyncClient(base_url=server.url) as http,
                ):
                    await run(
                        server, port, Api(client=http, runtime=runtime), tenants, per_tenant, n
                    )
            finally:
                server.stop()
        finally:
            database.stop()


async def run(server: Server, port: int, api: Api, tenants: int, per_tenant: int, n: int) -> None:
    keys: list[str] = []
    things: list[list[str]] = []
    for t in range(tenants):
        tenant = await make_tenant(api.runtime, f"bench{t}")
        keys.append(tenant.user)
        things.append(
            [await create_thing(api, tenant.user, name=f"T{i}") for i in range(per_tenant)]
        )
    plan: list[tuple[int, str, dict[str, Any]]] = []
    for t in range(tenants):
        for thing in things[t]:
            plan += [(t, THING, {"id": thing})] * 3
            plan += [(t, EVENTS, {"id": thing}), (t, CONNECTIONS, {"id": thing})]

    # the write path before any subscription is open
    await updates(api, keys, things, 20, "warm")
    before = await updates(api, keys, things, n, "before")

    memory_before = server.rss_bytes()
    latencies: list[float] = []
    received = [0]  # messages with data (pings not counted)
    readers = []
    clients = []
    for t in range(tenants):
        mine = [p for p in plan if p[0] == t]
        for start in range(0, len(mine), SUBS_PER_SOCKET):
            client = await WsClient.open(port)
            assert await client.init(keys[t]) == {"type": "connection_ack"}
            clients.append(client)
            for i, (_, query, variables) in enumerate(mine[start : start + SUBS_PER_SOCKET]):
                await client.subscribe(str(i), query, variables)
            readers.append(asyncio.create_task(reader(client, latencies, received)))
    gauge = "ontology_live_subscriptions{"
    for _ in range(600):
        if await server.metric(api.client, gauge) == len(plan):
            break
        await asyncio.sleep(0.1)
    memory_after = server.rss_bytes()

    wakeups = "ontology_live_wakeups_total"
    woken_before = await server.metric(api.client, wakeups)
    during = await updates(api, keys, things, n, "during")
    # each update is read by 3 thingChanged and 1 eventAdded subscriptions
    expected = n * 4
    deadline = time.monotonic() + 60
    while received[0] < expected and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    woken = await server.metric(api.client, wakeups) - woken_before

    for task in readers:
        task.cancel()
    for client in clients:
        await client.close()
    for _ in range(600):
        if await server.metric(api.client, gauge) == 0:
            break
        await asyncio.sleep(0.1)
    # none open again: the figures before and after bracket the load's drift
    after = await updates(api, keys, things, n, "after")

    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"subscriptions: {len(plan)} over {tenants} tenants ({len(clients)} sockets)")
    print(f"updates: {n}; messages received: {received[0]} (expected {expected})")
    print(f"commit-to-delivery: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"wake-ups per change: {woken / n:.2f} (subscriptions reading it: {expected / n:.2f})")
    per_sub = (memory_after - memory_before) / len(plan)
    print(f"memory per subscription: {per_sub / 1024:.1f} KiB (server RSS)")
    none_ms = statistics.median(before + after) * 1000
    open_ms = statistics.median(during) * 1000
    print(
        f"write path (updateThing, median): {none_ms:.1f} ms with none open "
        f"(before {statistics.median(before) * 1000:.1f}, after "
        f"{statistics.median(after) * 1000:.1f}), {open_ms:.1f} ms with {len(plan)} open: "
        f"ratio {open_ms / none_ms:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--things", type=int, default=20)
    parser.add_argument("--updates", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.tenants, args.things, args.updates))
