"""The content engagement counters and leaderboard (ontology/things/engagement.py).

The board is checked against brute force twice: as a pure structure under any
sequence of count changes (more things than the board holds, ties, deletions),
and through the services on a real group, where every write path keeps it and
the group's ``inboundByType`` exact, a board run short is rebuilt by the next
read, and a group stored before these counters is recounted on its first read.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from ontology.connections.models import NewConnection
from ontology.db.cost import track_cost
from ontology.groups.models import Plan
from ontology.runtime import Runtime
from ontology.things.engagement import BOARD_SIZE, TOP, Board, Rank
from ontology.things.models import NewThing
from tests.factories import Api, make_tenant, true_counts
from tests.quotas.support import read_engagement, stored_counts, true_engagement

TYPES = ("blog_post", "video")
IDS = [ObjectId() for _ in range(3 * BOARD_SIZE // 2)]  # 75 things: more than a board


def brute_top(counts: dict[ObjectId, int]) -> list[Rank]:
    return sorted(((n, i) for i, n in counts.items() if n > 0), key=lambda r: (-r[0], r[1]))


# one step: new counts for some things (0: no inbound connections left, or deleted);
# counts drawn from a small range, so ties are common
changes = st.dictionaries(st.sampled_from(IDS), st.integers(0, 6), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None, database=None)
@given(steps=st.lists(changes, min_size=1, max_size=40))
def test_the_board_always_holds_the_exact_leaders(steps: list[dict[ObjectId, int]]) -> None:
    counts: dict[ObjectId, int] = {}
    board = Board.empty(TYPES)
    for changed in steps:
        counts.update(changed)
        board = board.merge(changed)
        truth = brute_top(counts)
        # its members are always an exact prefix of the ranking, in order ...
        assert list(board.members) == truth[: len(board.members)]
        assert len(board.members) <= BOARD_SIZE
        if board.floor is None:
            assert list(board.members) == truth  # ... all of it when it has no floor
        if board.complete:
            assert board.top() == truth[:TOP]
        else:  # run short: a read rebuilds it from the things
            board = Board.of(TYPES, truth[:BOARD_SIZE])
        # and it survives its stored form
        assert Board.from_doc(board.to_doc()) == board


async def connect_all(runtime: Runtime, group_id: ObjectId, pairs: list[Any]) -> None:
    for start in range(0, len(pairs), 5000):  # batches of at most 10,000 items
        result = await runtime.services.batches.create_connections(
            group_id, [NewConnection(a, b, kind) for a, b, kind in pairs[start : start + 5000]]
        )
        assert (result.succeeded, result.failed) == (len(pairs[start : start + 5000]), 0)


async def content_group(runtime: Runtime, slug: str, posts: int) -> dict[str, Any]:
    """``posts`` content things (blog posts and videos) and 12 creators; post n has
    n % 12 inbound connections (authored by the first n % 12 creators): ties everywhere."""
    tenant = await make_tenant(runtime, slug, Plan.ENTERPRISE)
    things = [NewThing("creator", f"C{i:02d}", {}, "active") for i in range(12)]
    things += [NewThing(TYPES[i % 2], f"P{i:03d}", {}, "active") for i in range(posts)]
    inserted = await runtime.services.batches.insert_things(tenant.id, things)
    assert (inserted.succeeded, inserted.failed) == (len(things), 0)
    cursor = runtime.database.collection("things").find({"groupId": tenant.id}, sort=[("_id", 1)])
    docs = [doc async for doc in cursor]
    creators = [d["_id"] for d in docs if d["type"] == "creator"]
    content = [d["_id"] for d in docs if d["type"] != "creator"]
    await connect_all(
        runtime,
        tenant.id,
        [(creators[c], post, "authored") for n, post in enumerate(content) for c in range(n % 12)],
    )
    return {"tenant": tenant, "creators": creators, "content": content}


async def assert_exact(runtime: Runtime, group_id: ObjectId) -> None:
    assert await stored_counts(runtime, group_id) == await true_counts(runtime, group_id)
    assert await read_engagement(runtime, group_id) == await true_engagement(runtime, group_id)


async def test_every_write_path_keeps_the_counters_and_the_board_exact(api: Api) -> None:
    runtime = api.runtime
    services = runtime.services
    # given 90 content things with 0 to 11 inbound connections each (more than a board)
    world = await content_group(runtime, "acme", 90)
    group_id, creators, content = world["tenant"].id, world["creators"], world["content"]
    await assert_exact(runtime, group_id)
    group = await runtime.repos.groups.by_id(group_id)
    assert group is not None
    board = Board.from_doc(group["engagement"])
    assert board is not None and board.floor is not None  # cut at 50 members

    # when single connections are added to a post below the board, lifting it to the top
    low = content[12]  # 0 inbound connections
    for creator in creators[:11]:
        await services.connections.create(group_id, NewConnection(creator, low, "references"))
    await services.connections.create(group_id, NewConnection(creators[0], low, "authored"))
    # then it leads (12 > 11), and everything is still exact
    top, _, _ = await true_engagement(runtime, group_id)
    assert top[0] == (low, 12)
    await assert_exact(runtime, group_id)

    # when connections to the leaders are deleted one by one, and leaders are deleted
    leaders = [i for i, _ in (await true_engagement(runtime, group_id))[0]]
    connections = runtime.database.collection("connections")
    for target in leaders[:5]:
        doc = await connections.find_one({"groupId": group_id, "toId": target})
        assert doc is not None
        await services.connections.delete(group_id, doc["_id"])
        await assert_exact(runtime, group_id)
    for target in leaders[5:8]:
        await services.things.delete(group_id, target)
        await assert_exact(runtime, group_id)
    # and a creator with many outbound connections is deleted (their targets lose one each)
    await services.things.delete(group_id, creators[1])
    await assert_exact(runtime, group_id)


async def test_a_board_run_short_is_rebuilt_by_the_next_read(api: Api) -> None:
    runtime = api.runtime
    # given 60 posts with 0 to 11 inbound connections: a board of 50 with a floor
    world = await content_group(runtime, "acme", 60)
    group_id = world["tenant"].id

    # when every member of the board but 9 loses all its connections
    group = await runtime.repos.groups.by_id(group_id)
    assert group is not None
    members = [i for _, i in Board.from_doc(group["engagement"]).members]  # type: ignore[union-attr]
    for target in members[9:]:
        await runtime.services.things.delete(group_id, target)
    group = await runtime.repos.groups.by_id(group_id)
    assert group is not None
    short = Board.from_doc(group["engagement"])
    assert short is not None and len(short.members) == 9 and not short.complete

    # then the next read rebuilds it: the group document, then in one transaction the
    # recount of inbound connections by type, the first 50 content things, the new board
    with track_cost() as rebuilt:
        read = await read_engagement(runtime, group_id)
    assert read == await true_engagement(runtime, group_id)
    assert rebuilt.command_names == [
        "find",
        "aggregate",
        "aggregate",
        "findAndModify",
        "commitTransaction",
    ]
    group = await runtime.repos.groups.by_id(group_id)
    assert group is not None
    again = Board.from_doc(group["engagement"])
    assert again is not None and again.complete
    # and the read after it is the plain one: the group document and the top 10 by id
    with track_cost() as plain:
        await read_engagement(runtime, group_id)
    assert plain.command_names == ["find", "aggregate"]


async def test_a_group_stored_before_the_counters_is_recounted_on_its_first_read(
    api: Api,
) -> None:
    runtime = api.runtime
    groups = runtime.database.collection("groups")
    # given a group whose document has neither counts.inboundByType nor a board
    world = await content_group(runtime, "acme", 30)
    group_id, creators, content = world["tenant"].id, world["creators"], world["content"]
    await groups.update_one(
        {"_id": group_id}, {"$unset": {"counts.inboundByType": "", "engagement": ""}}
    )

    # when a connection is written: the group is left alone (nothing partial is counted)
    await runtime.services.connections.create(
        group_id, NewConnection(creators[0], content[0], "references")
    )
    group = await groups.find_one({"_id": group_id})
    assert group is not None
    assert ("inboundByType" in group["counts"], "engagement" in group) == (False, False)

    # then the first read is exact, and stores the recounted counters and board
    assert await read_engagement(runtime, group_id) == await true_engagement(runtime, group_id)
    await assert_exact(runtime, group_id)
    group = await groups.find_one({"_id": group_id})
    assert group is not None and "engagement" in group

    # and later writes keep them
    await runtime.services.connections.create(
        group_id, NewConnection(creators[1], content[0], "references")
    )
    await assert_exact(runtime, group_id)


async def test_a_board_of_other_content_types_is_rebuilt(api: Api) -> None:
    runtime = api.runtime
    groups = runtime.database.collection("groups")
    # given a group whose board was built when only blog posts were content
    world = await content_group(runtime, "acme", 20)
    group_id = world["tenant"].id
    await groups.update_one({"_id": group_id}, {"$set": {"engagement.types": ["blog_post"]}})

    # then the read rebuilds it for today's content types
    assert await read_engagement(runtime, group_id) == await true_engagement(runtime, group_id)
    group = await groups.find_one({"_id": group_id})
    assert group is not None
    assert group["engagement"]["types"] == sorted(runtime.vocabulary.type_set("content"))


TOP_CONTENT = """
{ viewer { group { metrics {
  topContentByEngagement { connectionCount thing { id } } averageEngagementPerContent
} } } }
"""


async def test_top_content_costs_the_same_for_20_and_2000_content_things(api: Api) -> None:
    runtime = api.runtime
    # given a group with 20 content things and one with 2,000, each with ties on every count
    small = await content_group(runtime, "small", 20)
    big = await content_group(runtime, "big", 2000)

    # when each reads its top content and average engagement
    bodies = [await api.gql(w["tenant"].user, TOP_CONTENT) for w in (small, big)]

    # then both send the same 2 commands and read the same 11 documents: the group's
    # counters and board (1), and the 10 things on top by id
    costs = [
        {k: body["extensions"]["cost"][k] for k in ("dbCommands", "documentsRead")}
        for body in bodies
    ]
    assert costs[0] == costs[1] == {"dbCommands": 2, "documentsRead": 11}
    for world, body in zip((small, big), bodies, strict=True):
        metrics = body["data"]["viewer"]["group"]["metrics"]
        top, inbound, count = await true_engagement(runtime, world["tenant"].id)
        assert [m["connectionCount"] for m in metrics["topContentByEngagement"]] == [
            n for _, n in top
        ]
        assert metrics["averageEngagementPerContent"] == inbound / count
