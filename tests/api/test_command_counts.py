"""The database commands an operation sends depend on its shape, never on its size.

A list page walks windows of its sort key (one ``find`` per window, pinned for
dense, sparse and mixed data in tests/db/test_windows.py), so the tests here pin
what a shape adds on top of its page. Every response in development carries
``extensions.cost.dbCommands``, counted by the PyMongo command listener for the
operation (authentication runs before the operation and is not counted). These
tests pin the exact numbers: a change that adds a query per item (an N+1) or an
extra round trip shows up here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ontology.connections.models import NewConnection
from ontology.events.repository import EventFilter
from ontology.events.service import NewEvent
from ontology.keys.models import Role
from ontology.kit.pagination import PageRequest
from ontology.knowledge.service import KnowledgeKind, NewKnowledge
from ontology.people.service import NewPerson
from ontology.things.models import NewThing
from tests.factories import CREATE_THING, Api, Tenant, global_id, group_counts, make_tenant

HUBS = 5
ACTORS = 5
MEMBERS = 110
CONNECTIONS_PER_MEMBER = 3
EVENTS_PER_MEMBER = 3

THINGS_WITH_RELATIONS = """
query($first: Int!) {
  things(first: $first) {
    edges {
      node {
        id
        connectionCounts { inbound outbound }
        connections(first: 5) {
          edges { direction connection { type } node { id name connectionCounts { inbound } } }
        }
        activity(first: 5) {
          edges { node { type actor { name } target { name } } }
        }
      }
    }
  }
}
"""


@dataclass
class Graph:
    tenant: Tenant
    hubs: list[dict[str, Any]]
    actors: list[dict[str, Any]]
    members: list[dict[str, Any]]  # oldest first


async def seed_graph(api: Api, members: int = MEMBERS) -> Graph:
    """Hubs and actors first (so they are the oldest things), then the members.

    Each member has 3 outbound ``member_of`` connections to hubs and 3 events
    with an actor as actor and itself as target, on top of the events the
    services log (``thing_created``, ``connection_created``). Everything goes
    through the services, so every counter matches what is stored.
    """
    services = api.runtime.services
    tenant = await make_tenant(api.runtime, "acme")

    async def thing(thing_type: str, name: str) -> dict[str, Any]:
        return await services.things.create(
            tenant.id, NewThing(type=thing_type, name=name, properties={}, status="active")
        )

    hubs = [await thing("community", f"Hub{i}") for i in range(HUBS)]
    actors = [await thing("creator", f"Actor{i}") for i in range(ACTORS)]
    member_docs = [await thing("creator", f"Member{i}") for i in range(members)]
    for i, member in enumerate(member_docs):
        for j in range(CONNECTIONS_PER_MEMBER):
            await services.connections.create(
                tenant.id,
                NewConnection(
                    from_id=member["_id"], to_id=hubs[(i + j) % HUBS]["_id"], type="member_of"
                ),
            )
        for j in range(EVENTS_PER_MEMBER):
            await services.events.log(
                tenant.id,
                NewEvent(
                    type="content_event",
                    actor_id=actors[(i + j) % ACTORS]["_id"],
                    target_id=member["_id"],
                ),
            )
    return Graph(tenant=tenant, hubs=hubs, actors=actors, members=member_docs)


def cost(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["extensions"]["cost"]
    return result


async def test_listing_things_with_relations_costs_four_commands_more_than_the_page(
    api: Api,
) -> None:
    # given 120 things: 110 members, each with 3 connections and 7 events
    # (1 thing_created, 3 connection_created as actor, 3 content_event as target)
    graph = await seed_graph(api)
    counts = await group_counts(api.runtime, graph.tenant.id)
    assert counts["things"] == HUBS + ACTORS + MEMBERS
    assert counts["connections"] == MEMBERS * CONNECTIONS_PER_MEMBER
    assert counts["events"] == (HUBS + ACTORS + MEMBERS) + MEMBERS * (
        CONNECTIONS_PER_MEMBER + EVENTS_PER_MEMBER
    )

    # when listing 1, 10 and 100 things, alone and with their connections and activity
    # (the page itself first, so both read it with the same hints)
    plain = "query($first: Int!) { things(first: $first) { edges { node { id } } } }"
    bodies: dict[int, dict[str, Any]] = {}
    pages: dict[int, int] = {}
    for n in (1, 10, 100):
        await api.gql(graph.tenant.user, plain, {"first": n})
        pages[n] = cost(await api.gql(graph.tenant.user, plain, {"first": n}))["dbCommands"]
        bodies[n] = await api.gql(graph.tenant.user, THINGS_WITH_RELATIONS, {"first": n})

    # then the relations cost exactly 3 commands more than the page, whatever its size:
    #   1. aggregate connections       outbound pages of every thing: fromId $in + $topN,
    #                                  the other ends joined with $lookup
    #   2. aggregate events            activity as actor of every thing: actorId $in +
    #                                  $topN, actor and target joined with $lookup
    #   3. aggregate events            activity as target, likewise
    # (members have no inbound connections: their counters say so, and no command is
    # sent for them; no thing has more than 64 connections or events, so all share one
    # command per direction and role; the page walks windows of ids: one find each,
    # see tests/db/test_windows.py)
    assert {n: cost(body)["dbCommands"] - pages[n] for n, body in bodies.items()} == {
        1: 3,
        10: 3,
        100: 3,
    }
    assert all(commands >= 1 for commands in pages.values())
    # and only the documents returned grow with the page: page + 1, then one group per
    # thing from the outbound, actor and target aggregates
    documents = {n: cost(body)["documentsRead"] for n, body in bodies.items()}
    assert documents == {n: (n + 1) + 3 * n for n in (1, 10, 100)}

    # and the answer really holds every thing's relations
    edges = bodies[100]["data"]["things"]["edges"]
    assert len(edges) == 100
    newest = edges[0]["node"]
    assert newest["id"] == global_id("Thing", graph.members[-1]["_id"])
    assert newest["connectionCounts"] == {"inbound": 0, "outbound": 3}
    hub_inbound = MEMBERS * CONNECTIONS_PER_MEMBER // HUBS
    assert newest["connections"]["edges"] == [
        {
            "direction": "OUTBOUND",
            "connection": {"type": "member_of"},
            "node": {
                "id": global_id("Thing", graph.hubs[h]["_id"]),
                "name": f"Hub{h}",
                "connectionCounts": {"inbound": hub_inbound},
            },
        }
        # member 109 connected to hubs (109 + j) % 5 for j = 0, 1, 2: newest first
        for h in (1, 0, 4)
    ]
    assert newest["activity"]["edges"] == [
        {
            "node": {
                "type": "content_event",
                "actor": {"name": f"Actor{a}"},
                "target": {"name": "Member109"},
            }
        }
        for a in (1, 0, 4)
    ] + [
        {
            "node": {
                "type": "connection_created",
                "actor": {"name": "Member109"},
                "target": {"name": f"Hub{h}"},
            }
        }
        for h in (1, 0)
    ]
    assert all(len(e["node"]["connections"]["edges"]) == 3 for e in edges)
    assert all(len(e["node"]["activity"]["edges"]) == 5 for e in edges)


async def test_each_nested_field_adds_one_batched_command(api: Api) -> None:
    # given a small graph: 5 hubs, 5 actors, 12 members
    graph = await seed_graph(api, members=12)

    async def commands(selection: str) -> int:
        body = await api.gql(
            graph.tenant.user, f"{{ things(first: 10) {{ edges {{ node {{ {selection} }} }} }} }}"
        )
        result: int = cost(body)["dbCommands"]
        return result

    # when selecting more and more of the relations of 10 things (the page alone
    # first, read twice so that every shape reads it with the same hints)
    await commands("id")
    page = await commands("id")
    shapes = {
        "page": "id name connectionCounts { inbound outbound byType { type count } }",
        "+connections": "id connections(first: 5) { edges { direction connection { type } } }",
        "+their things": "id connections(first: 5) { edges { node { name } } }",
        "+activity": "id activity(first: 5) { edges { node { type } } }",
        "+targets": "id activity(first: 5) { edges { node { target { name } } } }",
        "+actors": "id activity(first: 5) { edges { node { actor { name } } } }",
        "+targets, hubs cached": (
            "id connections(first: 5) { edges { node { name } } }"
            " activity(first: 5) { edges { node { target { name } } } }"
        ),
        "everything": (
            "id connections(first: 5) { edges { node { name } } }"
            " activity(first: 5) { edges { node { actor { name } target { name } } } }"
        ),
    }
    observed = {name: await commands(selection) - page for name, selection in shapes.items()}

    # then each relation costs one command for all ten things together, on top of
    # the page (one find per window of ids it walks)
    assert observed == {
        "page": 0,  # counters are denormalized, no query
        "+connections": 1,  # one aggregate per direction with connections (members:
        "+their things": 1,  # outbound only); the other ends come joined with them
        "+activity": 2,  # one aggregate per role (actor, target)
        "+targets": 2,  # actors and targets come joined with the events
        "+actors": 2,
        "+targets, hubs cached": 3,  # connections (1) + activity (2)
        "everything": 3,
    }


async def test_viewer_costs_no_command(api: Api) -> None:
    # given a group with a thing
    tenant = await make_tenant(api.runtime, "acme")
    await api.runtime.services.things.create(
        tenant.id, NewThing(type="creator", name="Ada", properties={}, status="active")
    )

    # when asking for the viewer and the group's counters
    body = await api.gql(
        tenant.user, "{ viewer { role group { id slug plan counts { things events } } } }"
    )

    # then no command is sent: the group document comes with the authentication
    assert body["data"]["viewer"]["group"]["counts"] == {"things": 1, "events": 1}
    assert cost(body)["dbCommands"] == 0
    assert cost(body)["documentsRead"] == 0


async def test_thing_by_id_costs_one_command(api: Api) -> None:
    # given a thing
    tenant = await make_tenant(api.runtime, "acme")
    doc = await api.runtime.services.things.create(
        tenant.id, NewThing(type="creator", name="Ada", properties={}, status="active")
    )
    thing_id = global_id("Thing", doc["_id"])

    # when reading it with thing(id) and with node(id)
    by_thing = await api.gql(
        tenant.user, "query($id: ID!) { thing(id: $id) { id name } }", {"id": thing_id}
    )
    by_node = await api.gql(
        tenant.user, "query($id: ID!) { node(id: $id) { id } }", {"id": thing_id}
    )
    by_group = await api.gql(
        tenant.user,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": global_id("Group", tenant.id)},
    )

    # then each is one find (ThingsByIdLoader), and the group needs none
    assert by_thing["data"] == {"thing": {"id": thing_id, "name": "Ada"}}
    assert cost(by_thing)["dbCommands"] == 1
    assert by_node["data"] == {"node": {"id": thing_id}}
    assert cost(by_node)["dbCommands"] == 1
    assert by_group["data"] == {"node": {"id": global_id("Group", tenant.id)}}
    assert cost(by_group)["dbCommands"] == 0


async def test_nodes_cost_one_command_per_type_present(api: Api) -> None:
    # given 40 things, 30 connections between them, and the 70 events those logged,
    # plus a person and a piece of knowledge
    tenant = await make_tenant(api.runtime, "acme")
    services = api.runtime.services
    things = [
        await services.things.create(
            tenant.id, NewThing(type="creator", name=f"T{i}", properties={}, status="active")
        )
        for i in range(40)
    ]
    connections = [
        await services.connections.create(
            tenant.id,
            NewConnection(
                from_id=things[i]["_id"], to_id=things[i + 1]["_id"], type="collaborates_with"
            ),
        )
        for i in range(30)
    ]
    events = await api.runtime.repos.events.page(tenant.id, EventFilter(), PageRequest(size=70))
    person = await services.people.create(
        tenant.id, NewPerson(email="ada@example.com", name="Ada", role=Role.CUSTOMER)
    )
    knowledge = await services.knowledge.add(
        tenant.id, NewKnowledge(kind=KnowledgeKind.LABEL, text="vip")
    )
    assert len(events) == 70

    three_types = (
        [global_id("Thing", t["_id"]) for t in things]
        + [global_id("Connection", c["_id"]) for c in connections]
        + [global_id("Event", e["_id"]) for e in events[:30]]
    )
    three_types = three_types[::2] + three_types[1::2]  # interleave the types
    all_types = [
        global_id("Thing", things[0]["_id"]),
        global_id("Connection", connections[0]["_id"]),
        global_id("Event", events[0]["_id"]),
        global_id("Person", person["_id"]),
        global_id("Knowledge", knowledge["_id"]),
        global_id("Group", tenant.id),
    ]
    things_only = [global_id("Thing", t["_id"]) for t in things]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"

    # when resolving them with nodes(ids)
    bodies = {
        name: await api.gql(tenant.user, query, {"ids": ids})
        for name, ids in (
            ("three types", three_types),
            ("all types", all_types),
            ("things only", things_only),
        )
    }

    # then every node is found, in order, with one find per type present
    # (the group is the caller's own document: no command)
    assert len(three_types) == 100
    for name, ids in (
        ("three types", three_types),
        ("all types", all_types),
        ("things only", things_only),
    ):
        assert bodies[name]["data"] == {"nodes": [{"id": i} for i in ids]}
    assert {name: cost(body)["dbCommands"] for name, body in bodies.items()} == {
        "three types": 3,
        "all types": 5,
        "things only": 1,
    }


async def test_create_thing_costs_five_commands(api: Api) -> None:
    # given a group
    tenant = await make_tenant(api.runtime, "acme")

    # when creating a thing
    body = await api.gql(
        tenant.user,
        CREATE_THING,
        {"input": {"type": "creator", "name": "Ada", "properties": {}, "status": "active"}},
    )

    # then it costs exactly 5 commands, all in one transaction:
    #   - insert            things   the thing
    #   - insert            events   its thing_created event
    #   - update            counters the event's minute, hour, day and month buckets: one bulk
    #   - update            groups   the counters (things, thingsByType, events, bytes): one
    #                                $inc, or one findAndModify when it also checks quotas
    #   - commitTransaction
    assert body["data"]["createThing"]["errors"] == []
    assert cost(body)["dbCommands"] == 5
    counts = await group_counts(api.runtime, tenant.id)
    assert (counts["things"], counts["thingsByType"], counts["events"]) == (1, {"creator": 1}, 1)
