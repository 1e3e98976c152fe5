"""The isolation matrix: one tenant's keys against another tenant's ids.

Tenant A ("alpha") calls every query and mutation that takes an id with the
ids of tenant B ("beta"). Each call must

1. return nothing of B: exactly what an id that never existed returns (null,
   or a ``NOT_FOUND`` payload error), so foreign and missing ids cannot be
   told apart, not even by the cost figures in ``extensions``;
2. change nothing: B's documents in every collection, and A's, are exactly as
   they were before the call.

``platform_owner`` keys are the one exception: with ``X-Ontology-Group`` they act
on the named group; every other role naming another group gets HTTP 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from bson import ObjectId

from ontology.keys.models import Role
from tests.factories import (
    Api,
    Tenant,
    connect,
    create_thing,
    global_id,
    group_counts,
    group_documents,
    make_tenant,
)

COLLECTIONS = ("things", "connections", "events", "people", "knowledge", "thing_knowledge")
GROUP_HEADER = "X-Ontology-Group"
TENANT_ROLES = (Role.ORG_OWNER, Role.ORG_USER, Role.CUSTOMER)
WRITER_ROLES = (Role.ORG_OWNER, Role.ORG_USER)

# B's objects by name, with the global id type of each.
B_OBJECTS = {
    "b_thing1": "Thing",
    "b_thing2": "Thing",
    "b_conn": "Connection",
    "b_event": "Event",
    "b_person": "Person",
    "b_knowledge": "Knowledge",
    "b_group": "Group",
}

NODE_FIELDS = """
  __typename
  id
  ... on Thing {
    name type properties status version
    connections(first: 20) { edges { connection { id } node { id name } } totalCount }
    activity(first: 20) { edges { node { id type } } }
  }
  ... on Connection { type fromId toId from { id name } to { id name } }
  ... on Event { type metadata actorId targetId actor { id name } target { id name } }
  ... on Person { email name role }
  ... on Knowledge { kind text labels sourceThingId }
  ... on Group { slug name }
  ... on Group { counts { things connections events people knowledge } }
"""

# what a customer may read (README, "Authentication and tenancy"): no events, people or counts
CUSTOMER_HIDDEN = ("activity(", "... on Event", "... on Person", "counts {")


def for_role(document: str, role: Role) -> str:
    """``document`` without the lines a customer may not select, for a customer."""
    if role is not Role.CUSTOMER:
        return document
    lines = document.splitlines()
    return "\n".join(line for line in lines if not any(h in line for h in CUSTOMER_HIDDEN))


NODE = f"""query($id: ID!) {{ node(id: $id) {{
{NODE_FIELDS}
}} }}"""
NODES = f"""query($ids: [ID!]!) {{ nodes(ids: $ids) {{
{NODE_FIELDS}
}} }}"""
THING = """
query($id: ID!) {
  thing(id: $id) {
    id name properties
    connections(first: 20) { edges { node { id } } }
    activity(first: 20) { edges { node { id } } }
  }
}
"""
EVENTS = """
query($actorId: ID, $targetId: ID) {
  events(actorId: $actorId, targetId: $targetId, first: 20) {
    edges { cursor node { id type actorId targetId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}
"""
VIEWER_AND_THINGS = """
{
  viewer { role group { id slug } }
  things(first: 20) { edges { node { id name } } totalCount }
}
"""

ERRORS = "errors { index path code message }"
UPDATE_THING = f"""
mutation($input: UpdateThingInput!) {{
  updateThing(input: $input) {{ thing {{ id name status version }} {ERRORS} }}
}}
"""
DELETE_THING = f"""
mutation($input: DeleteThingInput!) {{
  deleteThing(input: $input) {{ deletedId {ERRORS} }}
}}
"""
CREATE_CONNECTION = f"""
mutation($input: CreateConnectionInput!) {{
  createConnection(input: $input) {{
    connection {{ id type fromId toId from {{ id }} to {{ id }} }} {ERRORS}
  }}
}}
"""
DELETE_CONNECTION = f"""
mutation($input: DeleteConnectionInput!) {{
  deleteConnection(input: $input) {{ deletedId {ERRORS} }}
}}
"""
LOG_EVENT = f"""
mutation($input: LogEventInput!) {{
  logEvent(input: $input) {{
    event {{ id actorId targetId actor {{ id }} target {{ id }} }} {ERRORS}
  }}
}}
"""
ADD_KNOWLEDGE = f"""
mutation($input: AddKnowledgeInput!) {{
  addKnowledge(input: $input) {{ knowledge {{ id sourceThingId }} {ERRORS} }}
}}
"""
CREATE_PERSON = f"""
mutation($input: CreatePersonInput!) {{
  createPerson(input: $input) {{ person {{ id }} {ERRORS} }}
}}
"""


def not_found(path: str, message: str = "No such thing.") -> dict[str, Any]:
    return {"index": None, "path": path, "code": "NOT_FOUND", "message": message}


@dataclass
class World:
    """Tenants A and B, each with data, and the global ids of B's objects."""

    a: Tenant
    b: Tenant
    ids: dict[str, str]
    """Every object by name: A's (``a_*``) and B's (``b_*``)."""
    missing: dict[str, str]
    """The same names, with each of B's ids replaced by a fresh id of its type."""

    def key(self, role: Role) -> str:
        return self.a.keys[role]


def resolve(template: Any, ids: dict[str, str]) -> Any:
    """``template`` with every string ``"@name"`` replaced by ``ids[name]``."""
    if isinstance(template, dict):
        return {k: resolve(v, ids) for k, v in template.items()}
    if isinstance(template, list):
        return [resolve(v, ids) for v in template]
    if isinstance(template, str) and template.startswith("@"):
        return ids[template[1:]]
    return template


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """A response body without its timing (``extensions.cost.ms``)."""
    result = dict(body)
    cost = dict(result.get("extensions", {}).get("cost", {}))
    cost.pop("ms", None)
    result["extensions"] = {**result.get("extensions", {}), "cost": cost}
    return result


async def add_person(api: Api, key: str, email: str, name: str) -> str:
    data = await api.data(key, CREATE_PERSON, {"input": {"email": email, "name": name}})
    assert data["createPerson"]["errors"] == []
    person_id: str = data["createPerson"]["person"]["id"]
    return person_id


async def log_event(api: Api, key: str, actor_id: str, target_id: str) -> str:
    variables = {"input": {"type": "content_event", "actorId": actor_id, "targetId": target_id}}
    data = await api.data(key, LOG_EVENT, variables)
    assert data["logEvent"]["errors"] == []
    event_id: str = data["logEvent"]["event"]["id"]
    return event_id


async def add_knowledge(api: Api, key: str, thing_id: str, text: str) -> str:
    variables = {"input": {"kind": "LABEL", "text": text, "thingId": thing_id}}
    data = await api.data(key, ADD_KNOWLEDGE, variables)
    assert data["addKnowledge"]["errors"] == []
    knowledge_id: str = data["addKnowledge"]["knowledge"]["id"]
    return knowledge_id


@pytest.fixture
async def world(api: Api) -> World:
    """A and B with one object of every kind each (B: two things, linked)."""
    a = await make_tenant(api.runtime, "alpha")
    b = await make_tenant(api.runtime, "beta")
    ids: dict[str, str] = {}
    for prefix, tenant in (("a", a), ("b", b)):
        thing1 = await create_thing(api, tenant.user, "creator", f"{prefix.upper()} Creator")
        thing2 = await create_thing(api, tenant.user, "blog_post", f"{prefix.upper()} Post")
        ids |= {
            f"{prefix}_thing1": thing1,
            f"{prefix}_thing2": thing2,
            f"{prefix}_conn": await connect(api, tenant.user, thing1, thing2, "authored"),
            f"{prefix}_event": await log_event(api, tenant.user, thing1, thing2),
            f"{prefix}_person": await add_person(
                api, tenant.owner, f"someone@{prefix}.example", f"{prefix.upper()} Person"
            ),
            f"{prefix}_knowledge": await add_knowledge(
                api, tenant.user, thing1, f"{prefix.upper()} label"
            ),
            f"{prefix}_group": global_id("Group", tenant.id),
        }
    missing = dict(ids) | {name: global_id(kind, ObjectId()) for name, kind in B_OBJECTS.items()}
    return World(a=a, b=b, ids=ids, missing=missing)


# --- the world itself -------------------------------------------------------------------------


async def test_snapshot_holds_b_documents_in_every_collection(api: Api, world: World) -> None:
    # given the world fixture

    # when B's documents are read straight from the database
    b_docs = await group_documents(api.runtime, world.b.id, COLLECTIONS)

    # then every collection holds B's documents, so comparing snapshots is meaningful
    assert {name: len(docs) for name, docs in b_docs.items()} == {
        "things": 2,
        "connections": 1,
        # thing_created twice, connection_created, content_event
        "events": 4,
        "people": 1,
        "knowledge": 1,
        "thing_knowledge": 1,
        "groups": 1,
    }


# --- node / nodes -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", TENANT_ROLES)
@pytest.mark.parametrize("name", list(B_OBJECTS))
async def test_node_with_foreign_id_is_null_like_missing(
    api: Api, world: World, role: Role, name: str
) -> None:
    # given B's id (which B itself can load) and a fresh id of the same type
    own = await api.data(world.b.owner, NODE, {"id": world.ids[name]})
    assert own["node"]["id"] == world.ids[name]
    before_a, before_b = (
        await group_documents(api.runtime, world.a.id, COLLECTIONS),
        await group_documents(api.runtime, world.b.id, COLLECTIONS),
    )

    # when A asks for both
    node = for_role(NODE, role)
    foreign = await api.gql(world.key(role), node, {"id": world.ids[name]})
    missing = await api.gql(world.key(role), node, {"id": world.missing[name]})

    # then A gets null, exactly as for the id that never existed, and nothing changed
    assert foreign["data"] == {"node": None}
    assert "errors" not in foreign
    assert comparable(foreign) == comparable(missing)
    assert await group_documents(api.runtime, world.a.id, COLLECTIONS) == before_a
    assert await group_documents(api.runtime, world.b.id, COLLECTIONS) == before_b


@pytest.mark.parametrize("role", TENANT_ROLES)
async def test_nodes_with_foreign_ids_are_null_like_missing(
    api: Api, world: World, role: Role
) -> None:
    # given all of B's ids, in a list
    names = list(B_OBJECTS)
    before_a, before_b = (
        await group_documents(api.runtime, world.a.id, COLLECTIONS),
        await group_documents(api.runtime, world.b.id, COLLECTIONS),
    )

    # when A asks for them, and for as many fresh ids
    nodes = for_role(NODES, role)
    foreign = await api.gql(world.key(role), nodes, {"ids": [world.ids[n] for n in names]})
    missing = await api.gql(world.key(role), nodes, {"ids": [world.missing[n] for n in names]})

    # then every entry is null, as for ids that never existed, and nothing changed
    assert foreign["data"] == {"nodes": [None] * len(names)}
    assert "errors" not in foreign
    assert comparable(foreign) == comparable(missing)
    assert await group_documents(api.runtime, world.a.id, COLLECTIONS) == before_a
    assert await group_documents(api.runtime, world.b.id, COLLECTIONS) == before_b


@pytest.mark.parametrize("role", TENANT_ROLES)
async def test_nodes_mixing_own_and_foreign_ids_returns_only_own(
    api: Api, world: World, role: Role
) -> None:
    # given A's ids interleaved with B's
    names = [
        "a_thing1",
        "b_thing1",
        "a_conn",
        "b_conn",
        "a_event",
        "b_event",
        "a_person",
        "b_person",
        "a_knowledge",
        "b_knowledge",
        "a_group",
        "b_group",
    ]
    variables = {"ids": [f"@{n}" for n in names]}

    # when A asks for them all, and for the same list with B's ids replaced by fresh ones
    nodes = for_role(NODES, role)
    foreign = await api.data(world.key(role), nodes, resolve(variables, world.ids))
    missing = await api.data(world.key(role), nodes, resolve(variables, world.missing))

    # then A's own objects come back in order, each of B's is null, as a missing one
    assert [node and (node["__typename"], node["id"]) for node in foreign["nodes"]] == [
        ("Thing", world.ids["a_thing1"]),
        None,
        ("Connection", world.ids["a_conn"]),
        None,
        ("Event", world.ids["a_event"]),
        None,
        ("Person", world.ids["a_person"]),
        None,
        ("Knowledge", world.ids["a_knowledge"]),
        None,
        ("Group", world.ids["a_group"]),
        None,
    ]
    assert foreign == missing


# --- thing(id) --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", TENANT_ROLES)
@pytest.mark.parametrize("name", ["b_thing1", "b_thing2"])
async def test_thing_with_foreign_id_is_null_like_missing(
    api: Api, world: World, role: Role, name: str
) -> None:
    # given B's thing (which B itself can load)
    own = await api.data(world.b.user, THING, {"id": world.ids[name]})
    assert own["thing"]["id"] == world.ids[name]
    before_a, before_b = (
        await group_documents(api.runtime, world.a.id, COLLECTIONS),
        await group_documents(api.runtime, world.b.id, COLLECTIONS),
    )

    # when A asks for it, and for a fresh thing id
    thing = for_role(THING, role)
    foreign = await api.gql(world.key(role), thing, {"id": world.ids[name]})
    missing = await api.gql(world.key(role), thing, {"id": world.missing[name]})

    # then both are null and nothing changed
    assert foreign["data"] == {"thing": None}
    assert "errors" not in foreign
    assert comparable(foreign) == comparable(missing)
    assert await group_documents(api.runtime, world.a.id, COLLECTIONS) == before_a
    assert await group_documents(api.runtime, world.b.id, COLLECTIONS) == before_b


# --- events(actorId, targetId) ----------------------------------------------------------------

EVENT_FILTERS = {
    "actor": ({"actorId": "@b_thing1"}, ["content_event", "connection_created"]),
    "target": (
        {"targetId": "@b_thing2"},
        ["content_event", "connection_created", "thing_created"],
    ),
    "actor_and_target": (
        {"actorId": "@b_thing1", "targetId": "@b_thing2"},
        ["content_event", "connection_created"],
    ),
}


@pytest.mark.parametrize("role", WRITER_ROLES)  # a customer reads no events at all
@pytest.mark.parametrize("case", list(EVENT_FILTERS))
async def test_events_filtered_by_foreign_thing_are_empty_like_missing(
    api: Api, world: World, role: Role, case: str
) -> None:
    # given a filter on B's things, which finds events for B itself
    template, b_sees = EVENT_FILTERS[case]
    own = await api.data(world.b.user, EVENTS, resolve(template, world.ids))
    assert [edge["node"]["type"] for edge in own["events"]["edges"]] == b_sees
    before_a, before_b = (
        await group_documents(api.runtime, world.a.id, COLLECTIONS),
        await group_documents(api.runtime, world.b.id, COLLECTIONS),
    )

    # when A lists its events with that filter, and with fresh thing ids instead
    foreign = await api.gql(world.key(role), EVENTS, resolve(template, world.ids))
    missing = await api.gql(world.key(role), EVENTS, resolve(template, world.missing))

    # then A gets zero edges, like for things that never existed, and nothing changed
    assert foreign["data"] == {
        "events": {
            "edges": [],
            "pageInfo": {
                "hasNextPage": False,
                "hasPreviousPage": False,
                "startCursor": None,
                "endCursor": None,
            },
            "totalCount": None,
        }
    }
    assert "errors" not in foreign
    assert comparable(foreign) == comparable(missing)
    assert await group_documents(api.runtime, world.a.id, COLLECTIONS) == before_a
    assert await group_documents(api.runtime, world.b.id, COLLECTIONS) == before_b


# --- mutations --------------------------------------------------------------------------------

NO_SUCH_CONNECTION = "No such connection."

# name -> (mutation, field, result field, input template, expected errors)
MUTATIONS: dict[str, tuple[str, str, str, dict[str, Any], list[dict[str, Any]]]] = {
    "updateThing-name": (
        UPDATE_THING,
        "updateThing",
        "thing",
        {"id": "@b_thing1", "name": "Hijacked"},
        [not_found("id")],
    ),
    "updateThing-properties-and-status": (
        UPDATE_THING,
        "updateThing",
        "thing",
        {"id": "@b_thing2", "properties": {"owner": "alpha"}, "status": "archived"},
        [not_found("id")],
    ),
    "updateThing-matching-expectedVersion": (
        UPDATE_THING,
        "updateThing",
        "thing",
        {"id": "@b_thing1", "name": "Hijacked", "expectedVersion": 1},
        [not_found("id")],
    ),
    "updateThing-stale-expectedVersion": (
        UPDATE_THING,
        "updateThing",
        "thing",
        {"id": "@b_thing1", "name": "Hijacked", "expectedVersion": 7},
        [not_found("id")],
    ),
    "deleteThing-with-connections": (
        DELETE_THING,
        "deleteThing",
        "deletedId",
        {"id": "@b_thing1"},
        [not_found("id")],
    ),
    "deleteThing-other": (
        DELETE_THING,
        "deleteThing",
        "deletedId",
        {"id": "@b_thing2"},
        [not_found("id")],
    ),
    "createConnection-own-to-foreign": (
        CREATE_CONNECTION,
        "createConnection",
        "connection",
        {"fromId": "@a_thing1", "toId": "@b_thing1", "type": "references"},
        [not_found("toId")],
    ),
    "createConnection-foreign-to-own": (
        CREATE_CONNECTION,
        "createConnection",
        "connection",
        {"fromId": "@b_thing1", "toId": "@a_thing1", "type": "references"},
        [not_found("fromId")],
    ),
    "createConnection-foreign-to-foreign": (
        CREATE_CONNECTION,
        "createConnection",
        "connection",
        {"fromId": "@b_thing1", "toId": "@b_thing2", "type": "references"},
        [not_found("fromId"), not_found("toId")],
    ),
    "deleteConnection": (
        DELETE_CONNECTION,
        "deleteConnection",
        "deletedId",
        {"id": "@b_conn"},
        [not_found("id", NO_SUCH_CONNECTION)],
    ),
    "logEvent-actor": (
        LOG_EVENT,
        "logEvent",
        "event",
        {"type": "content_event", "actorId": "@b_thing1"},
        [not_found("actorId")],
    ),
    "logEvent-target": (
        LOG_EVENT,
        "logEvent",
        "event",
        {"type": "content_event", "targetId": "@b_thing2"},
        [not_found("targetId")],
    ),
    "logEvent-own-actor-foreign-target": (
        LOG_EVENT,
        "logEvent",
        "event",
        {"type": "content_event", "actorId": "@a_thing1", "targetId": "@b_thing2"},
        [not_found("targetId")],
    ),
    "logEvent-actor-and-target": (
        LOG_EVENT,
        "logEvent",
        "event",
        {"type": "content_event", "actorId": "@b_thing1", "targetId": "@b_thing2"},
        [not_found("actorId"), not_found("targetId")],
    ),
    "addKnowledge": (
        ADD_KNOWLEDGE,
        "addKnowledge",
        "knowledge",
        {"kind": "LABEL", "text": "stolen", "thingId": "@b_thing1"},
        [not_found("thingId")],
    ),
}

# The cases whose inputs name only B's objects: B itself may run them.
B_ONLY_MUTATIONS = [
    name
    for name, (_, _, _, template, _) in MUTATIONS.items()
    if "@a_" not in str(template) and "stale" not in name
]


@pytest.mark.parametrize("role", WRITER_ROLES)
@pytest.mark.parametrize("case", list(MUTATIONS))
async def test_mutation_with_foreign_id_is_not_found_and_writes_nothing(
    api: Api, world: World, role: Role, case: str
) -> None:
    # given B's ids in the input, and A's and B's state
    mutation, field, result_field, template, expected_errors = MUTATIONS[case]
    before_a, before_b = (
        await group_documents(api.runtime, world.a.id, COLLECTIONS),
        await group_documents(api.runtime, world.b.id, COLLECTIONS),
    )
    counts_a = await group_counts(api.runtime, world.a.id)

    # when A runs it, and runs it again with B's ids replaced by ids that never existed
    foreign = await api.gql(world.key(role), mutation, {"input": resolve(template, world.ids)})
    missing = await api.gql(world.key(role), mutation, {"input": resolve(template, world.missing)})

    # then A gets NOT_FOUND, exactly as for the missing ids, and nothing was written
    assert foreign["data"] == {field: {result_field: None, "errors": expected_errors}}
    assert "errors" not in foreign
    assert comparable(foreign) == comparable(missing)
    assert await group_documents(api.runtime, world.b.id, COLLECTIONS) == before_b
    assert await group_documents(api.runtime, world.a.id, COLLECTIONS) == before_a
    assert await group_counts(api.runtime, world.a.id) == counts_a


@pytest.mark.parametrize("case", B_ONLY_MUTATIONS)
async def test_the_same_mutation_succeeds_for_the_owning_tenant(
    api: Api, world: World, case: str
) -> None:
    # given the exact input A was refused
    mutation, field, result_field, template, _ = MUTATIONS[case]
    before_a = await group_documents(api.runtime, world.a.id, COLLECTIONS)

    # when B runs it on its own objects
    data = await api.data(world.b.user, mutation, {"input": resolve(template, world.ids)})

    # then it succeeds (so A's refusal came from the ids' owner alone) and A is untouched
    assert data[field]["errors"] == []
    assert data[field][result_field] is not None
    assert await group_documents(api.runtime, world.a.id, COLLECTIONS) == before_a


async def test_customer_key_of_a_is_forbidden_before_looking_at_foreign_ids(
    api: Api, world: World
) -> None:
    # given A's customer key, which may not write at all, and B's thing id
    before_a, before_b = (
        await group_documents(api.runtime, world.a.id, COLLECTIONS),
        await group_documents(api.runtime, world.b.id, COLLECTIONS),
    )
    variables = {"input": {"id": world.ids["b_thing1"]}}

    # when it tries to delete B's thing, and a thing that never existed
    foreign = await api.gql(world.a.customer, DELETE_THING, variables)
    missing = await api.gql(
        world.a.customer, DELETE_THING, {"input": {"id": world.missing["b_thing1"]}}
    )

    # then both are the same top-level FORBIDDEN error, and nothing changed
    assert foreign["data"] is None
    assert [(e["message"], e["extensions"]) for e in foreign["errors"]] == [
        (
            "This operation needs the org_user role; the key has customer.",
            {"code": "FORBIDDEN"},
        )
    ]
    assert comparable(foreign) == comparable(missing)
    assert await group_documents(api.runtime, world.a.id, COLLECTIONS) == before_a
    assert await group_documents(api.runtime, world.b.id, COLLECTIONS) == before_b


# --- the X-Ontology-Group header --------------------------------------------------------------


@pytest.fixture
async def staff(api: Api) -> str:
    """A platform_owner key of a third group, "staff"."""
    group = await api.runtime.services.groups.create(slug="staff", name="Staff")
    _, secret = await api.runtime.services.keys.create(group["_id"], Role.PLATFORM_OWNER)
    return secret


async def test_platform_owner_with_group_header_sees_that_group(
    api: Api, world: World, staff: str
) -> None:
    # given a platform_owner key of the staff group

    # when it names B's group in the header
    body = await api.gql(staff, VIEWER_AND_THINGS, headers={GROUP_HEADER: "beta"})
    thing = await api.gql(
        staff, THING, {"id": world.ids["b_thing1"]}, headers={GROUP_HEADER: "beta"}
    )

    # then it acts on B: B's group, B's things newest first, B's thing by id
    assert "errors" not in body
    assert body["data"] == {
        "viewer": {
            "role": "PLATFORM_OWNER",
            "group": {"id": world.ids["b_group"], "slug": "beta"},
        },
        "things": {
            "edges": [
                {"node": {"id": world.ids["b_thing2"], "name": "B Post"}},
                {"node": {"id": world.ids["b_thing1"], "name": "B Creator"}},
            ],
            "totalCount": 2,
        },
    }
    assert thing["data"]["thing"]["id"] == world.ids["b_thing1"]


async def test_platform_owner_without_header_acts_on_its_own_group(
    api: Api, world: World, staff: str
) -> None:
    # given a platform_owner key of the staff group, and B's state
    before_b = await group_documents(api.runtime, world.b.id, COLLECTIONS)

    # when it sends no group header, and asks for B's thing and to delete it
    body = await api.gql(staff, VIEWER_AND_THINGS)
    thing = await api.gql(staff, THING, {"id": world.ids["b_thing1"]})
    deleted = await api.gql(staff, DELETE_THING, {"input": {"id": world.ids["b_thing1"]}})

    # then it acts on the (empty) staff group: B's thing is as missing as for any tenant
    assert "errors" not in body
    assert body["data"]["viewer"]["role"] == "PLATFORM_OWNER"
    assert body["data"]["viewer"]["group"]["slug"] == "staff"
    assert body["data"]["things"] == {"edges": [], "totalCount": 0}
    assert thing["data"] == {"thing": None}
    assert deleted["data"] == {"deleteThing": {"deletedId": None, "errors": [not_found("id")]}}
    assert await group_documents(api.runtime, world.b.id, COLLECTIONS) == before_b


async def test_platform_owner_with_unknown_group_header_is_forbidden(
    api: Api, world: World, staff: str
) -> None:
    # given a platform_owner key

    # when it names a group that does not exist
    response = await api.post(staff, VIEWER_AND_THINGS, headers={GROUP_HEADER: "nope"})

    # then HTTP 403, FORBIDDEN
    assert response.status_code == 403
    assert response.json() == {
        "data": None,
        "errors": [{"message": "No group 'nope'.", "extensions": {"code": "FORBIDDEN"}}],
    }


@pytest.mark.parametrize("role", TENANT_ROLES)
async def test_tenant_key_naming_another_group_is_forbidden(
    api: Api, world: World, role: Role
) -> None:
    # given A's key and A's and B's state
    before_a, before_b = (
        await group_documents(api.runtime, world.a.id, COLLECTIONS),
        await group_documents(api.runtime, world.b.id, COLLECTIONS),
    )
    counts_a = await group_counts(api.runtime, world.a.id)

    # when it names B's group, to read and to delete B's thing
    read = await api.post(world.key(role), VIEWER_AND_THINGS, headers={GROUP_HEADER: "beta"})
    delete = await api.post(
        world.key(role),
        DELETE_THING,
        {"input": {"id": world.ids["b_thing1"]}},
        headers={GROUP_HEADER: "beta"},
    )

    # then both are HTTP 403 FORBIDDEN, before anything runs, and nothing changed
    expected = {
        "data": None,
        "errors": [
            {
                "message": "This key cannot act on group 'beta'.",
                "extensions": {"code": "FORBIDDEN"},
            }
        ],
    }
    assert (read.status_code, read.json()) == (403, expected)
    assert (delete.status_code, delete.json()) == (403, expected)
    assert read.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await group_documents(api.runtime, world.a.id, COLLECTIONS) == before_a
    assert await group_documents(api.runtime, world.b.id, COLLECTIONS) == before_b
    assert await group_counts(api.runtime, world.a.id) == counts_a


@pytest.mark.parametrize("role", TENANT_ROLES)
async def test_tenant_key_naming_its_own_group_acts_on_it(
    api: Api, world: World, role: Role
) -> None:
    # given A's key

    # when it names its own group in the header
    body = await api.gql(world.key(role), VIEWER_AND_THINGS, headers={GROUP_HEADER: "alpha"})

    # then the header is accepted and the call acts on A
    assert "errors" not in body
    assert body["data"]["viewer"] == {
        "role": role.name,
        "group": {"id": world.ids["a_group"], "slug": "alpha"},
    }
    assert [edge["node"]["id"] for edge in body["data"]["things"]["edges"]] == [
        world.ids["a_thing2"],
        world.ids["a_thing1"],
    ]
