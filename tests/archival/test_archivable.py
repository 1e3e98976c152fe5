"""``archivableEvents``: the events the next archival run would move, a bounded list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from ontology.groups.models import Plan
from ontology.kit.clock import utcnow
from ontology.kit.ids import to_global_id
from ontology.kit.pagination import PageRequest
from ontology.ledger.counters import CountDelta
from ontology.runtime import Runtime
from tests.archival.support import seed_events as seed_bare
from tests.db.test_indexes import assert_index_scan
from tests.factories import Api, assert_forbidden, make_tenant


async def seed_events(
    runtime: Runtime, group_id: ObjectId, moments: list[datetime]
) -> list[ObjectId]:
    """Events at these times, counted as the services count them (with their oldest and
    newest keys, where a first page starts)."""
    ids = await seed_bare(runtime, group_id, moments)
    docs = await runtime.repos.events.by_ids(group_id, ids)
    await runtime.repos.accounts.apply_counts(group_id, CountDelta().saw_events(docs))
    return ids


ARCHIVABLE = """
query($first: Int!, $after: String) {
  archivableEvents(first: $first, after: $after) {
    edges { cursor node { id timestamp } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
    totalCount
  }
}
"""


def ids_of(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body["errors"]
    return [edge["node"]["id"] for edge in body["data"]["archivableEvents"]["edges"]]


async def test_lists_what_the_next_run_moves_oldest_first_page_by_page(api: Api) -> None:
    # given a starter group (90 days' retention) with three events past it and one within,
    # and another tenant with older events still
    runtime = api.runtime
    now = utcnow()
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    other = await make_tenant(runtime, "globex", Plan.STARTER)
    old = [now - timedelta(days=d) for d in (120, 100, 91)]
    ids = await seed_events(runtime, acme.id, [old[1], old[0], old[2], now - timedelta(days=10)])
    await seed_events(runtime, other.id, [now - timedelta(days=d) for d in (200, 150)])
    expected = [to_global_id("Event", ids[i]) for i in (1, 0, 2)]  # by time

    # when an org_user pages through them two at a time
    first = await api.gql(acme.user, ARCHIVABLE, {"first": 2})
    cursor = first["data"]["archivableEvents"]["pageInfo"]["endCursor"]
    second = await api.gql(acme.user, ARCHIVABLE, {"first": 2, "after": cursor})

    # then they are the group's events past the cutoff, oldest first, each once
    assert ids_of(first) + ids_of(second) == expected
    assert first["data"]["archivableEvents"]["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "endCursor": cursor,
    }
    assert second["data"]["archivableEvents"]["pageInfo"]["hasNextPage"] is False
    assert first["data"]["archivableEvents"]["totalCount"] is None

    # and the other tenant's cursor only positions the walk in acme's own events
    theirs = await api.gql(other.user, ARCHIVABLE, {"first": 1})
    their_cursor = theirs["data"]["archivableEvents"]["pageInfo"]["endCursor"]
    assert ids_of(await api.gql(acme.user, ARCHIVABLE, {"first": 5, "after": their_cursor})) == (
        expected
    )


async def test_a_plan_that_keeps_every_event_has_none_and_roles_are_archival_status_s(
    api: Api,
) -> None:
    runtime = api.runtime
    big = await make_tenant(runtime, "big", Plan.ENTERPRISE)
    await seed_events(runtime, big.id, [utcnow() - timedelta(days=2000)])

    # when the enterprise group asks, then nothing is due
    assert ids_of(await api.gql(big.owner, ARCHIVABLE, {"first": 5})) == []
    # and a customer may not ask, as for archivalStatus
    await assert_forbidden(api, big.customer, ARCHIVABLE, {"first": 5}, "archivableEvents")


async def test_a_page_is_one_bounded_index_range(api: Api) -> None:
    # given 300 old events and 10 within retention
    runtime = api.runtime
    now = utcnow()
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    await seed_events(runtime, acme.id, [now - timedelta(days=100, minutes=m) for m in range(300)])
    await seed_events(runtime, acme.id, [now - timedelta(days=1, minutes=m) for m in range(10)])
    group = await runtime.repos.groups.by_id(acme.id)
    assert group is not None
    cutoff = runtime.services.archival.cutoff(group, None, now)
    assert cutoff is not None
    spec = runtime.repos.events.older_than_spec(acme.id, cutoff, PageRequest(size=20))

    # when explaining its first command, then it reads events_group within the cutoff
    explain = await spec.explain(runtime.database.collection("events"))
    assert_index_scan(explain, "events_group")

    # when reading pages through the API, with a process that just started and again
    runtime.database.hints.clear()
    costs = []
    after = None
    for _ in range(3):
        body = await api.gql(acme.user, ARCHIVABLE, {"first": 20, "after": after})
        assert len(ids_of(body)) == 20
        costs.append(body["extensions"]["cost"]["dbCommands"])
        after = body["data"]["archivableEvents"]["pageInfo"]["endCursor"]
    # then a cold first page starts at the group's oldest event and widens its windows
    # until 21 events a minute apart fit (10 commands: one block of ids, then 1 ms, 8 ms …
    # 35 min); the pages after it start at their cursor with the spacing it learnt: 1 each
    assert costs == [10, 1, 1]
