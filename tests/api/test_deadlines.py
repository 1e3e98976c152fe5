"""Database deadlines of GraphQL operations: a stuck command ends as ``TIMEOUT``, not a hang.

The server is made slow with its ``failCommand`` fail point (``blockConnection``:
the server sleeps before answering the matching command of the application's
client), so the client-side deadline (``pymongo.timeout``) is what ends the wait.
"""

from __future__ import annotations

import time

from ontology.config import Settings
from tests.api.test_http import api_with
from tests.factories import make_tenant, server_blocks

THINGS = "query Things { things(first: 5) { edges { node { name } } } }"
BATCH = """
mutation Batch($input: BatchInsertThingsInput!) {
  batchInsertThings(input: $input) { results { status } errors { code } }
}
"""
DEADLINE_MS = 300
BLOCK_MS = 2000


async def test_a_stuck_query_ends_with_timeout_and_the_next_request_works(
    settings: Settings,
) -> None:
    async with api_with(settings, db_timeout_ms=DEADLINE_MS) as api:
        # given a tenant whose first operation of the month has read its API-call meter
        tenant = await make_tenant(api.runtime, "acme")
        await api.data(tenant.user, THINGS)

        # when the things query's find (after authentication's one: the key is known
        # since the first request, ontology.keys.cache) hangs on the server
        async with server_blocks(api.runtime.database, "find", BLOCK_MS, skip=1):
            started = time.monotonic()
            stuck = await api.gql(tenant.user, THINGS)
            elapsed = time.monotonic() - started
        recovered = await api.gql(tenant.user, THINGS)

        # then the operation ends at its deadline with a typed, safe error
        assert elapsed < BLOCK_MS / 1000
        assert stuck["data"] is None
        [error] = stuck["errors"]
        assert error == {
            "message": "The database did not answer in time. Try again later.",
            "locations": [{"line": 1, "column": 16}],
            "path": ["things"],
            "extensions": {"code": "TIMEOUT", "requestId": error["extensions"]["requestId"]},
        }
        # and the next request is served as usual
        assert recovered["data"] == {"things": {"edges": []}}
        assert "errors" not in recovered
        metrics = api.runtime.metrics.render().decode()
        assert (
            'ontology_graphql_requests_total{operation="Things",outcome="timeout"} 1.0' in metrics
        )


async def test_a_stuck_read_of_the_api_call_meter_ends_with_timeout_too(
    settings: Settings,
) -> None:
    async with api_with(settings, db_timeout_ms=DEADLINE_MS) as api:
        # given a tenant whose API-call meter this process has not read yet this month
        tenant = await make_tenant(api.runtime, "acme")

        # when that read (after authentication's three: key, group, key) hangs
        async with server_blocks(api.runtime.database, "find", BLOCK_MS, skip=3):
            stuck = await api.gql(tenant.user, THINGS)
        recovered = await api.gql(tenant.user, THINGS)

        # then the operation gets the same safe error (no driver message, no hosts)
        [error] = stuck["errors"]
        assert stuck["data"] is None
        assert error == {
            "message": "The database did not answer in time. Try again later.",
            "extensions": {"code": "TIMEOUT", "requestId": error["extensions"]["requestId"]},
        }
        assert recovered["data"] == {"things": {"edges": []}}


async def test_stuck_authentication_gets_503_timeout(settings: Settings) -> None:
    async with api_with(settings, db_timeout_ms=DEADLINE_MS) as api:
        tenant = await make_tenant(api.runtime, "acme")

        # when the key lookup hangs
        async with server_blocks(api.runtime.database, "find", BLOCK_MS):
            response = await api.post(tenant.user, THINGS)
        recovered = await api.post(tenant.user, THINGS)

        # then the request ends with 503 and the same code, and the next one works
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json() == {
            "data": None,
            "errors": [
                {
                    "message": "The database did not answer in time. Try again later.",
                    "extensions": {"code": "TIMEOUT"},
                }
            ],
        }
        assert recovered.status_code == 200
        assert "errors" not in recovered.json()


async def test_batch_mutations_get_the_longer_batch_deadline(settings: Settings) -> None:
    async with api_with(settings, db_timeout_ms=DEADLINE_MS, batch_db_timeout_ms=10_000) as api:
        tenant = await make_tenant(api.runtime, "acme")
        batch = {"input": {"things": [{"type": "creator", "name": "a"}]}}

        # when a batch's insert takes longer than a request's deadline
        async with server_blocks(api.runtime.database, "insert", BLOCK_MS):
            started = time.monotonic()
            body = await api.gql(tenant.user, BATCH, batch)
            elapsed = time.monotonic() - started

        # then it waits and succeeds
        assert elapsed >= BLOCK_MS / 1000
        assert body["data"] == {
            "batchInsertThings": {"results": [{"status": "CREATED"}], "errors": []}
        }
        assert "errors" not in body
