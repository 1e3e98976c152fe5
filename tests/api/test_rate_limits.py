"""Request rates per API key and per group: 429 ``RATE_LIMITED`` before any GraphQL runs."""

from __future__ import annotations

from bson import ObjectId

from ontology.api.rate_limits import RateScope, RequestRateLimiter
from ontology.config import Settings
from ontology.db.cost import track_cost
from ontology.kit.rate_limit import TokenBuckets
from tests.api.test_http import api_with
from tests.factories import Api, make_tenant

VIEWER = "query Viewer { viewer { role } }"
# One request per 100 s once the burst is spent: a refusal then always says 100 s.
SLOW = 0.01


def refused(message: str, scope: str, retry_after: int) -> dict[str, object]:
    return {
        "data": None,
        "errors": [
            {
                "message": message,
                "extensions": {"code": "RATE_LIMITED", "scope": scope, "retryAfter": retry_after},
            }
        ],
    }


async def test_a_key_over_its_rate_gets_429_without_touching_the_database(
    settings: Settings,
) -> None:
    async with api_with(
        settings, rate_limit_per_key=SLOW, rate_limit_burst=2, rate_limit_per_group=0
    ) as api:
        # given a tenant and another one
        tenant = await make_tenant(api.runtime, "acme")
        other = await make_tenant(api.runtime, "globex")

        # when one key sends three requests in a row, then a body that is not even JSON
        sent = [await api.post(tenant.user, VIEWER) for _ in range(3)]
        with track_cost() as cost:
            again = await api.post(tenant.user, VIEWER)
            garbage = await api.client.post(
                "/graphql",
                content=b"{not json",
                headers={
                    "Authorization": f"Bearer {tenant.user}",
                    "Content-Type": "application/json",
                },
            )

        # then the burst passes, and the rest is refused before authentication and parsing
        assert [r.status_code for r in sent] == [200, 200, 429]
        message = (
            "Too many requests for this API key: the limit is 0.01 per second with bursts "
            "of 2. Retry after 100 s."
        )
        for response in (sent[2], again, garbage):
            assert response.status_code == 429
            assert response.headers["retry-after"] == "100"
            assert response.headers["content-type"] == "application/json; charset=utf-8"
            assert response.json() == refused(message, "key", 100)
        assert cost.commands == 0
        # and the tenant's other keys and the other tenant are not affected
        assert (await api.post(tenant.owner, VIEWER)).status_code == 200
        assert (await api.post(other.user, VIEWER)).status_code == 200
        metrics = api.runtime.metrics.render().decode()
        assert 'ontology_rate_limited_total{scope="key"} 3.0' in metrics


async def test_a_group_over_its_rate_gets_429_for_every_key(settings: Settings) -> None:
    async with api_with(
        settings, rate_limit_per_key=0, rate_limit_per_group=SLOW, rate_limit_group_burst=3
    ) as api:
        # given two tenants
        tenant = await make_tenant(api.runtime, "acme")
        other = await make_tenant(api.runtime, "globex")

        # when the first tenant's keys send four requests between them
        statuses = [
            (await api.post(key, VIEWER)).status_code
            for key in (tenant.owner, tenant.user, tenant.owner)
        ]
        with track_cost() as first:
            customer = await api.post(tenant.customer, VIEWER)
        with track_cost() as second:
            customer_again = await api.post(tenant.customer, VIEWER)

        # then the group's burst of three passes and its fourth request is refused
        assert statuses == [200, 200, 200]
        message = (
            "Too many requests for this group: the limit is 0.01 per second with bursts "
            "of 3. Retry after 100 s."
        )
        assert customer.status_code == customer_again.status_code == 429
        assert customer.json() == customer_again.json() == refused(message, "group", 100)
        # a key seen for the first time is authenticated (key, group, key again:
        # ontology.keys.cache) before its group is known; after that its refusals cost the
        # database nothing
        assert (first.commands, second.commands) == (3, 0)
        # and another tenant still gets through
        assert (await api.post(other.customer, VIEWER)).status_code == 200


async def test_graphql_response_clients_get_the_same_429(settings: Settings) -> None:
    async with api_with(settings, rate_limit_per_key=SLOW, rate_limit_burst=1) as api:
        tenant = await make_tenant(api.runtime, "acme")
        headers = {"Accept": "application/graphql-response+json"}

        await api.post(tenant.user, VIEWER, headers=headers)
        response = await api.post(tenant.user, VIEWER, headers=headers)

        assert response.status_code == 429
        assert response.headers["content-type"] == (
            "application/graphql-response+json; charset=utf-8"
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert "data" not in response.json()


async def test_default_limits_let_a_busy_client_through(api: Api) -> None:
    # given the default settings (50/s per key, burst 100), 100 requests at once pass
    tenant = await make_tenant(api.runtime, "acme")

    statuses = {(await api.post(tenant.user, VIEWER)).status_code for _ in range(100)}

    assert statuses == {200}


def test_a_request_the_group_refuses_spends_none_of_the_keys_tokens() -> None:
    now = [0.0]
    keys = TokenBuckets[str](1, 2, clock=lambda: now[0])
    groups = TokenBuckets[ObjectId](1, 1, clock=lambda: now[0])
    limiter = RequestRateLimiter(keys, groups)
    group = ObjectId()

    assert limiter.admit("k1", None, group) is None
    refusal = limiter.admit("k2", None, group)

    assert refusal is not None and refusal.scope is RateScope.GROUP
    assert keys.wait("k2") == 0.0  # k2 still has its whole burst
    # the group is known for k2 now: refused before authentication too
    before = limiter.before_authentication("k2", None)
    assert before is not None and before.scope is RateScope.GROUP
    # a platform key naming another group is a different pair
    assert limiter.before_authentication("k2", "globex") is None
