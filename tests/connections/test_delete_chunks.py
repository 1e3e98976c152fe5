"""Deleting a thing removes its connections in commands of at most ``write_chunk_size``."""

from __future__ import annotations

from ontology.connections.models import NewConnection
from ontology.db.cost import track_cost
from ontology.groups.models import Plan
from ontology.kit.ids import parse_global_id
from ontology.runtime import Runtime
from ontology.things.models import NewThing
from tests.factories import group_counts, make_tenant, raw_count


async def test_a_thing_with_7_connections_is_deleted_with_3_delete_commands_of_3(
    runtime: Runtime,
) -> None:
    # given a creator followed by 4 audience members and the author of 3 posts
    tenant = await make_tenant(runtime, "acme", Plan.ENTERPRISE)
    batches = runtime.services.batches
    made = await batches.insert_things(
        tenant.id,
        [NewThing("creator", "Hub", {}, "active")]
        + [NewThing("audience_member", f"Fan {n}", {}, "active") for n in range(4)]
        + [NewThing("blog_post", f"Post {n}", {}, "active") for n in range(3)],
    )
    hub, *others = [parse_global_id(r.id or "", "Thing") for r in made.results]
    assert hub is not None and None not in others
    links = [NewConnection(from_id=fan, to_id=hub, type="following") for fan in others[:4]]
    links += [NewConnection(from_id=hub, to_id=post, type="authored") for post in others[4:]]
    assert (await batches.create_connections(tenant.id, links)).failed == 0
    # and writes of at most 3 documents a command
    runtime.repos.connections.chunk = 3
    runtime.repos.things.chunk = 3

    # when the creator is deleted
    with track_cost() as cost:
        await runtime.services.things.delete(tenant.id, hub)

    # then, in one transaction: the soft delete, the two reads of its connections, 3
    # deletes of them (3 + 3 + 1), 3 updates of the other ends' counts (3 + 3 + 1), the
    # engagement ledger (the targets' types and counts, the group's leaderboard, as the
    # posts are content, and the group's inbound counts), the group's counters (returning
    # the group as it was, for quota alerts), then the thing_deleted event and its metric
    # counters, the commit
    assert cost.command_names == [
        "findAndModify",
        *("find", "find"),
        *("delete", "delete", "delete"),
        *("update", "update", "update"),
        *("aggregate", "find", "update"),
        "findAndModify",
        *("insert", "update"),
        "commitTransaction",
    ]
    # and no connection is left, every count is back to zero
    assert await raw_count(runtime, "connections", {"groupId": tenant.id}) == 0
    assert (await group_counts(runtime, tenant.id))["connections"] == 0
    ends = runtime.database.collection("things").find({"_id": {"$in": others}}).sort("_id", 1)
    assert [t["connectionCounts"] async for t in ends] == [
        {"inbound": 0, "outbound": 0, "byType": {"following": {"outbound": 0}}}
    ] * 4 + [{"inbound": 0, "outbound": 0, "byType": {"authored": {"inbound": 0}}}] * 3
