"""``kill -9`` of an API process in the middle of a tenant's writes, then a restart.

Writers of one tenant send single writes (``logEvent``, ``createThing``) and batches
(``batchInsertThings`` of 1,000) to a real ``ontology serve`` until a batch has
reserved its counts; the process is then killed with SIGKILL while that batch's data
transaction is open. After a restart, once the server has aborted the dead
transactions (after they idle for its transaction lifetime, 60 s) and the new process
has released the reservation left behind (``ONTOLOGY_RESERVATION_SECONDS`` after it
was taken, swept at start and every minute) and folded the counter shard the dead
process left (a minute after its last write), everything adds up: the group's counters
and every metric bucket equal what is stored (``ontology counters check``), no
reservation is left, and the tenant writes again.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient
from pymongo.database import Database

from ontology.config import Settings
from ontology.groups.models import Plan
from ontology.runtime import open_runtime
from tests.factories import Tenant, make_tenant
from tests.serving import serving

LOG = 'mutation { logEvent(input: {type: "content_event"}) { errors { code } } }'
CREATE = 'mutation { createThing(input: {type: "creator", name: "Ada"}) { errors { code } } }'
# no scheduled jobs; a reservation left by a dead process is released 1 s after it was taken
SERVE = ("--no-scheduler",)
SERVE_ENV = {
    "ONTOLOGY_RESERVATION_SECONDS": "1",
    "ONTOLOGY_RATE_LIMIT_PER_KEY": "0",
    "ONTOLOGY_RATE_LIMIT_PER_GROUP": "0",
}
BATCH = (
    "mutation($items: [CreateThingInput!]!) { batchInsertThings(input: {things: $items}) "
    "{ summary { succeeded } } }"
)


REFUSED: list[Any] = []  # answers with top-level errors (shown when the test times out)


def keep_writing(url: str, key: str, query: str, variables: dict[str, Any], stop: Any) -> None:
    """Send ``query`` back to back until ``stop`` is set or the server goes away."""
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
        while not stop.is_set():
            try:
                answer = client.post(
                    f"{url}/graphql", json={"query": query, "variables": variables}
                )
            except httpx.TransportError:
                return
            if "errors" in answer.json():
                REFUSED.append(answer.json())


def wait_until(condition: Any, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {REFUSED[-3:]}"
        time.sleep(0.05)


async def test_kill_9_mid_batch_then_a_restart_leaves_every_counter_exact(
    settings: Settings, tmp_path: Path
) -> None:
    # given an enterprise tenant
    async with open_runtime(settings) as runtime:
        tenant = await make_tenant(runtime, "acme", Plan.ENTERPRISE)
    client: MongoClient[dict[str, Any]]
    with MongoClient(str(settings.mongodb_uri)) as client:
        await killed_and_restarted(settings, tmp_path, tenant, client[settings.db_name])


async def killed_and_restarted(
    settings: Settings, tmp_path: Path, tenant: Tenant, database: Database[Any]
) -> None:
    reservations = database.ledger_reservations
    group = {"groupId": tenant.id}
    items = {"items": [{"type": "creator", "name": f"t{n}"} for n in range(1000)]}
    log = tmp_path / "serve.log"

    # when its writers run on a process that is killed while a batch writes its data
    with serving(settings, tmp_path / "data", log, *SERVE, **SERVE_ENV) as (url, process):
        stop = threading.Event()
        writers = [
            threading.Thread(target=keep_writing, args=(url, tenant.user, query, {}, stop))
            for query in (LOG, LOG, CREATE)
        ] + [threading.Thread(target=keep_writing, args=(url, tenant.user, BATCH, items, stop))]
        for writer in writers:
            writer.start()
        try:
            # (a batch of 1,000 has committed, and the next one has reserved its counts)
            wait_until(
                lambda: (
                    database.things.count_documents(group) >= 1000
                    and reservations.count_documents(group) == 1
                ),
                "a batch in flight",
                120,
            )
            process.send_signal(signal.SIGKILL)
            process.wait()
        finally:
            stop.set()
            for writer in writers:
                writer.join(timeout=120)
    left_behind = reservations.count_documents(group)

    # and a new process starts on the same database
    with serving(settings, tmp_path / "data", log, *SERVE, **SERVE_ENV) as (url, _):
        # then the reservation left behind is released once its time is over and the dead
        # transactions are gone
        wait_until(lambda: reservations.count_documents(group) == 0, "the release", 150)
        # and the counter shard it left (what its writes committed together counted) is
        # folded into the group once it is stale, with its lease given back
        shards = database.ledger_shards
        wait_until(lambda: shards.count_documents(group) == 0, "the stale shard's fold", 150)
        leased = (database.groups.find_one({"_id": tenant.id}) or {}).get("leased", {})
        assert [n for n in leased.values() if n] == []
        # and every counter equals what is stored
        async with open_runtime(settings) as runtime:
            check = await runtime.services.counter_check.check_group(tenant.id)
        assert left_behind == 1
        assert check.drifts == []
        assert check.documents > 1000
        # and the tenant writes again, counted
        async with httpx.AsyncClient(timeout=120) as client:
            after = await client.post(
                f"{url}/graphql",
                json={"query": LOG},
                headers={"Authorization": f"Bearer {tenant.user}"},
            )
        assert after.json()["data"] == {"logEvent": {"errors": []}}
        async with open_runtime(settings) as runtime:
            check = await runtime.services.counter_check.check_group(tenant.id)
        assert check.drifts == []
