"""Batch writes through HTTP against a raw ``insert_many``, side by side in one run.

Starts its own embedded database and an ``ontology serve`` process on loopback,
then for N items (default 10,000):

- ``batchInsertThings`` over HTTP vs ``insert_many`` of the same documents into a
  collection with the same indexes as ``things``, on the same server (best of
  ``--rounds``);
- ``batchCreateConnections`` and ``batchUpdateThings`` of N items;
- the peak resident memory of the API server process (VmHWM).

Run: python bench/batch.py [--items N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ontology.db.embedded import EmbeddedServer, free_port, port_accepts
from ontology.db.indexes import indexes_by_collection
from ontology.kit.clock import utcnow
from ontology.things.models import NewThing, new_thing_document

ONTOLOGY = str(Path(sys.executable).parent / "ontology")
INSERT = (
    Path(__file__).resolve().parent.parent / "graphql" / "BatchInsertThings.graphql"
).read_text()
CONNECT = (
    Path(__file__).resolve().parent.parent / "graphql" / "BatchCreateConnections.graphql"
).read_text()
UPDATE = (
    Path(__file__).resolve().parent.parent / "graphql" / "BatchUpdateThings.graphql"
).read_text()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cli(env: dict[str, str], *args: str) -> dict[str, str]:
    out = subprocess.run([ONTOLOGY, *args, "--json"], env=env, check=True, capture_output=True)
    result: dict[str, str] = json.loads(out.stdout)
    return result


async def post(
    client: httpx.AsyncClient, key: str, query: str, variables: dict
) -> tuple[float, dict]:  # type: ignore[type-arg]
    started = time.perf_counter()
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
    )
    elapsed = time.perf_counter() - started
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, str(body)[:500]
    return elapsed, body


def spawn_api(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [ONTOLOGY, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_for_port(port: int) -> None:
    while not port_accepts("127.0.0.1", port):
        time.sleep(0.1)


async def main(items: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ontology-bench-") as tmp:
        server = EmbeddedServer(Path(tmp))
        server.start()
        port = free_port()
        env = {
            **os.environ,
            "ONTOLOGY_MONGODB_URI": server.uri,
            "ONTOLOGY_DB_NAME": "bench",
            "ONTOLOGY_PORT": str(port),
            "ONTOLOGY_LOG_LEVEL": "WARNING",
        }
        api = spawn_api(env)
        try:
            wait_for_port(port)
            cli(
                env,
                "groups",
                "create",
                "--slug",
                "bench",
                "--name",
                "Bench",
                "--plan",
                "enterprise",
            )
            key = cli(env, "keys", "create", "--group", "bench", "--role", "org_user")["secret"]
            rss_before = peak_rss_mb(api.pid)
            mongo: AsyncMongoClient = AsyncMongoClient(server.uri)  # type: ignore[type-arg]
            raw = mongo.bench.raw_things
            await raw.create_indexes([spec.model() for spec in indexes_by_collection()["things"]])
            group = await mongo.bench.groups.find_one({"slug": "bench"})
            assert group is not None
            things = [
                {"type": "creator", "name": f"Creator {n}", "properties": {"n": n}}
                for n in range(items)
            ]
            batch_times, raw_times, ids = [], [], []
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=600
            ) as client:
                for _ in range(rounds):
                    docs = [
                        new_thing_document(
                            group["_id"], NewThing(t["type"], t["name"], t["properties"]), utcnow()
                        )
                        for t in things
                    ]
                    started = time.perf_counter()
                    await raw.insert_many(docs)
                    raw_times.append(time.perf_counter() - started)
                    elapsed, body = await post(client, key, INSERT, {"input": {"things": things}})
                    batch_times.append(elapsed)
                    ids = [r["id"] for r in body["data"]["batchInsertThings"]["results"]]
                connections = [
                    {"fromId": ids[n], "toId": ids[(n + 1) % len(ids)], "type": "collaborates_with"}
                    for n in range(len(ids))
                ]
                connect_time, _ = await post(
                    client, key, CONNECT, {"input": {"connections": connections}}
                )
                updates = [{"id": i, "name": f"Renamed {n}"} for n, i in enumerate(ids)]
                update_time, _ = await post(client, key, UPDATE, {"input": {"updates": updates}})
            await mongo.close()
            rss_after = peak_rss_mb(api.pid)
        finally:
            api.terminate()
            api.wait()
            server.stop()
    best_batch, best_raw = min(batch_times), min(raw_times)
    print(f"{items:,} items, best of {rounds}:")
    print(f"  batchInsertThings over HTTP   {best_batch:8.2f} s")
    print(f"  raw insert_many, same indexes {best_raw:8.2f} s")
    print(f"  ratio                         {best_batch / best_raw:8.2f}  (target <= 1.5)")
    print(f"  batchCreateConnections        {connect_time:8.2f} s")
    print(f"  batchUpdateThings             {update_time:8.2f} s")
    print(f"  API server peak RSS           {rss_after:8.1f} MB (at start {rss_before:.1f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.items, arguments.rounds))
