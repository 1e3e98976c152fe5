"""Knowledge through the GraphQL API: addKnowledge and the knowledge list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import bson
import pytest
from bson import ObjectId

from ontology.kit.ids import parse_global_id
from tests.factories import (
    Api,
    SettableClock,
    clock_at,
    create_thing,
    global_id,
    group_counts,
    make_tenant,
    payload_error,
    raw_count,
    sizes_and_counters,
    stored_bytes,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

KNOWLEDGE_FIELDS = "id kind text embedding embeddingModel labels sourceThingId createdAt"
ADD = f"""
mutation($input: AddKnowledgeInput!) {{
  addKnowledge(input: $input) {{
    knowledge {{ {KNOWLEDGE_FIELDS} }}
    errors {{ index path code message }}
  }}
}}
"""
KNOWLEDGE = """
query($kind: KnowledgeKind, $first: Int = 20) {
  knowledge(kind: $kind, first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    edges { node { id kind text } }
  }
}
"""
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Knowledge {{ {KNOWLEDGE_FIELDS} }} }} }}"


@pytest.fixture(autouse=True)
def clock() -> Iterator[SettableClock]:
    with clock_at(T0) as settable:
        yield settable


error = payload_error


def kid(knowledge_id: str) -> ObjectId:
    parsed = parse_global_id(knowledge_id, "Knowledge")
    assert parsed is not None
    return parsed


async def raw_knowledge(api: Api, knowledge_id: str) -> dict[str, Any]:
    doc = await api.runtime.database.collection("knowledge").find_one({"_id": kid(knowledge_id)})
    assert doc is not None
    return doc


def expected_size(doc: dict[str, Any]) -> int:
    """The document without its embedding, plus 8 bytes per embedding value."""
    fields = {k: v for k, v in doc.items() if k != "sizeBytes"}
    return len(bson.encode({**fields, "embedding": None})) + 8 * len(doc["embedding"] or [])


async def add(api: Api, key: str, **fields: Any) -> dict[str, Any]:
    data = await api.data(key, ADD, {"input": fields})
    payload: dict[str, Any] = data["addKnowledge"]
    return payload


# --- addKnowledge ----------------------------------------------------------------------


async def test_add_document_returns_it_and_counts_its_size_into_storage(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    await create_thing(api, tenant.user, "creator", "Ada")
    before = await group_counts(api.runtime, tenant.id)

    # when
    payload = await add(
        api,
        tenant.user,
        kind="DOCUMENT",
        text="Notes on the Analytical Engine.",
        labels=["history", "computing"],
    )

    # then
    knowledge_id = payload["knowledge"]["id"]
    expected = {
        "id": global_id("Knowledge", kid(knowledge_id)),
        "kind": "DOCUMENT",
        "text": "Notes on the Analytical Engine.",
        "embedding": None,
        "embeddingModel": None,
        "labels": ["history", "computing"],
        "sourceThingId": None,
        "createdAt": T0.isoformat(),
    }
    assert payload == {"knowledge": expected, "errors": []}
    assert (await api.data(tenant.user, NODE, {"id": knowledge_id}))["node"] == expected
    doc = await raw_knowledge(api, knowledge_id)
    assert doc["groupId"] == tenant.id
    assert doc["sizeBytes"] == expected_size(doc)
    assert await group_counts(api.runtime, tenant.id) == {
        **before,
        "knowledge": 1,
        "storageBytes": before["storageBytes"] + doc["sizeBytes"],
    }
    assert await raw_count(api.runtime, "thing_knowledge", {}) == 0


async def test_add_vector_only_with_an_embedding_counts_eight_bytes_a_value(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    before = await group_counts(api.runtime, tenant.id)

    # when
    payload = await add(
        api,
        tenant.user,
        kind="VECTOR_ONLY",
        embedding=[0.25, -0.5, 1.0, 3.0],
        embeddingModel="text-embedding-3-small",
    )

    # then
    knowledge = payload["knowledge"]
    assert payload["errors"] == []
    assert {k: v for k, v in knowledge.items() if k != "id"} == {
        "kind": "VECTOR_ONLY",
        "text": None,
        "embedding": [0.25, -0.5, 1.0, 3.0],
        "embeddingModel": "text-embedding-3-small",
        "labels": [],
        "sourceThingId": None,
        "createdAt": T0.isoformat(),
    }
    doc = await raw_knowledge(api, knowledge["id"])
    no_embedding = {k: v for k, v in doc.items() if k != "sizeBytes"} | {"embedding": None}
    assert doc["sizeBytes"] == len(bson.encode(no_embedding)) + 32
    assert await group_counts(api.runtime, tenant.id) == {
        **before,
        "knowledge": 1,
        "storageBytes": before["storageBytes"] + doc["sizeBytes"],
    }


async def test_add_knowledge_linked_to_a_thing_stores_the_link(
    api: Api, clock: SettableClock
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    ada = await create_thing(api, tenant.user, "creator", "Ada")
    added_at = clock.advance(minutes=3)

    # when
    payload = await add(
        api, tenant.user, kind="CHUNK", text="First chunk.", thingId=ada, role="summary"
    )
    default_role = await add(api, tenant.user, kind="LABEL", text="pioneer", thingId=ada)

    # then
    assert payload["errors"] == []
    assert payload["knowledge"]["sourceThingId"] == ada
    assert payload["knowledge"]["createdAt"] == added_at.isoformat()
    assert default_role["errors"] == []
    cursor = api.runtime.database.collection("thing_knowledge").find({"groupId": tenant.id})
    stored = [link async for link in cursor.sort("_id", 1)]
    links = [{k: v for k, v in link.items() if k not in ("_id", "sizeBytes")} for link in stored]
    ada_oid = parse_global_id(ada, "Thing")
    assert links == [
        {
            "groupId": tenant.id,
            "thingId": ada_oid,
            "knowledgeId": kid(payload["knowledge"]["id"]),
            "role": "summary",
            "createdAt": added_at,
        },
        {
            "groupId": tenant.id,
            "thingId": ada_oid,
            "knowledgeId": kid(default_role["knowledge"]["id"]),
            "role": "about",
            "createdAt": added_at,
        },
    ]
    assert [link["sizeBytes"] for link in stored] == [
        len(bson.encode({k: v for k, v in link.items() if k != "sizeBytes"})) for link in stored
    ]
    assert (await group_counts(api.runtime, tenant.id))["knowledge"] == 2


async def test_a_knowledge_link_counts_its_own_bytes_in_storage(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    ada = await create_thing(api, tenant.user, "creator", "Ada")
    before = await group_counts(api.runtime, tenant.id)

    # when
    payload = await add(
        api, tenant.user, kind="LABEL", text="pioneer", thingId=ada, role="summary_of-work"
    )

    # then
    assert payload["errors"] == []
    doc = await raw_knowledge(api, payload["knowledge"]["id"])
    link = await api.runtime.database.collection("thing_knowledge").find_one(
        {"groupId": tenant.id, "knowledgeId": doc["_id"]}
    )
    assert link is not None
    assert link["sizeBytes"] == len(
        bson.encode({k: v for k, v in link.items() if k != "sizeBytes"})
    )
    after = await group_counts(api.runtime, tenant.id)
    assert after == {
        **before,
        "knowledge": 1,
        "storageBytes": before["storageBytes"] + doc["sizeBytes"] + link["sizeBytes"],
    }
    assert after["storageBytes"] == await stored_bytes(api, tenant.id)


async def test_a_17_mib_role_is_refused_as_invalid_input_and_writes_nothing(api: Api) -> None:
    # given: a role that, stored, would pass MongoDB's 16 MiB document limit
    tenant = await make_tenant(api.runtime, "acme")
    ada = await create_thing(api, tenant.user, "creator", "Ada")
    before = await sizes_and_counters(api, tenant)

    # when
    payload = await add(
        api, tenant.user, kind="LABEL", text="pioneer", thingId=ada, role="r" * (17 * 1024 * 1024)
    )

    # then
    assert payload == {"knowledge": None, "errors": [ROLE_ERROR]}
    assert await sizes_and_counters(api, tenant) == before


NEEDS_EMBEDDING = error("embedding", "INVALID_INPUT", "vector_only needs an embedding.")
LABELS_ERROR = error("labels", "INVALID_INPUT", "At most 100 labels of 1-256 characters.")
ROLE_ERROR = error(
    "role", "INVALID_INPUT", "role must be 1-64 letters, digits, _ or -, starting with a letter."
)
MODEL_ERROR = error(
    "embeddingModel", "INVALID_INPUT", "embeddingModel is longer than 128 characters."
)

ADD_REJECTIONS = [
    pytest.param({"kind": "VECTOR_ONLY"}, [NEEDS_EMBEDDING], id="vector-only-without-embedding"),
    pytest.param(
        {"kind": "VECTOR_ONLY", "embedding": [], "text": "some text"},
        [NEEDS_EMBEDDING],
        id="vector-only-with-empty-embedding",
    ),
    pytest.param(
        {"kind": "DOCUMENT"},
        [error("text", "INVALID_INPUT", "document needs text.")],
        id="document-without-text",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "  \n "},
        [error("text", "INVALID_INPUT", "document needs text.")],
        id="document-with-blank-text",
    ),
    pytest.param(
        {"kind": "LABEL", "embedding": [0.1]},
        [error("text", "INVALID_INPUT", "label needs text.")],
        id="label-without-text",
    ),
    pytest.param(
        {"kind": "CHUNK", "text": ""},
        [error("text", "INVALID_INPUT", "chunk needs text.")],
        id="chunk-with-empty-text",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "labels": [""]}, [LABELS_ERROR], id="empty-label"
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "labels": ["x" * 257]},
        [LABELS_ERROR],
        id="257-char-label",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "labels": [f"l{i}" for i in range(101)]},
        [LABELS_ERROR],
        id="101-labels",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "thingId": "ada", "role": "r" * (4 * 1024 * 1024)},
        [ROLE_ERROR],
        id="4-mib-role",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "thingId": "ada", "role": "r" * 65},
        [ROLE_ERROR],
        id="65-char-role",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "thingId": "ada", "role": ""},
        [ROLE_ERROR],
        id="empty-role",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "thingId": "ada", "role": "about\n"},
        [ROLE_ERROR],
        id="role-with-trailing-newline",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "thingId": "ada", "role": "1st"},
        [ROLE_ERROR],
        id="role-starting-with-a-digit",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "role": "a b"},
        [ROLE_ERROR],
        id="role-without-a-thing",
    ),
    pytest.param(
        {"kind": "VECTOR_ONLY", "embedding": [1.0], "embeddingModel": "m" * 129},
        [MODEL_ERROR],
        id="129-char-embedding-model",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "x" * 1_000_001},
        [error("text", "INVALID_INPUT", "text is longer than 1000000 characters.")],
        id="text-over-a-million-characters",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "thingId": "missing"},
        [error("thingId", "NOT_FOUND", "No such thing.")],
        id="thing-missing",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "thingId": "malformed"},
        [error("thingId", "NOT_FOUND", "No such thing.")],
        id="thing-malformed",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "thingId": "deleted"},
        [error("thingId", "NOT_FOUND", "No such thing.")],
        id="thing-deleted",
    ),
    pytest.param(
        {"kind": "DOCUMENT", "text": "ok", "thingId": "foreign"},
        [error("thingId", "NOT_FOUND", "No such thing.")],
        id="thing-of-another-tenant",
    ),
    pytest.param(
        {"kind": "VECTOR_ONLY", "labels": [""], "thingId": "missing"},
        [NEEDS_EMBEDDING, LABELS_ERROR, error("thingId", "NOT_FOUND", "No such thing.")],
        id="every-error-at-once",
    ),
]


@pytest.mark.parametrize(("given", "expected"), ADD_REJECTIONS)
async def test_add_knowledge_rejects_bad_input_and_writes_nothing(
    api: Api, given: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    ada = await create_thing(api, tenant.user, "creator", "Ada")
    gone = await create_thing(api, tenant.user, "creator", "Gone")
    removed = await api.data(
        tenant.user,
        "mutation($id: ID!) { deleteThing(input: {id: $id}) { errors { code } } }",
        {"id": gone},
    )
    assert removed["deleteThing"]["errors"] == []
    ids = {
        "ada": ada,
        "missing": global_id("Thing", ObjectId()),
        "malformed": "not-an-id",
        "deleted": gone,
        "foreign": await create_thing(api, other.user, "creator", "Foreign"),
    }
    await add(api, tenant.user, kind="DOCUMENT", text="Existing", thingId=ada)
    fields = {k: ids[v] if k == "thingId" else v for k, v in given.items()}
    before = await sizes_and_counters(api, tenant)
    other_before = await sizes_and_counters(api, other)

    # when
    payload = await add(api, tenant.user, **fields)

    # then
    assert payload == {"knowledge": None, "errors": expected}
    assert await sizes_and_counters(api, tenant) == before
    assert await sizes_and_counters(api, other) == other_before


async def test_add_knowledge_by_a_customer_is_forbidden_and_writes_nothing(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    before = await sizes_and_counters(api, tenant)

    # when
    body = await api.gql(tenant.customer, ADD, {"input": {"kind": "DOCUMENT", "text": "Hi"}})

    # then
    assert body["data"] is None
    assert [
        {
            "message": e["message"],
            "path": e["path"],
            "code": (e.get("extensions") or {}).get("code"),
        }
        for e in body["errors"]
    ] == [
        {
            "message": "This operation needs the org_user role; the key has customer.",
            "path": ["addKnowledge"],
            "code": "FORBIDDEN",
        }
    ]
    assert await sizes_and_counters(api, tenant) == before


# --- knowledge -------------------------------------------------------------------------


async def test_knowledge_lists_newest_first_filtered_by_kind(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    items = []
    for kind, text in (
        ("DOCUMENT", "Doc one"),
        ("LABEL", "pioneer"),
        ("VECTOR_ONLY", None),
        ("DOCUMENT", "Doc two"),
        ("CHUNK", "A chunk"),
    ):
        fields: dict[str, Any] = {"kind": kind, "text": text}
        if kind == "VECTOR_ONLY":
            fields["embedding"] = [1.0, 2.0]
        payload = await add(api, tenant.user, **fields)
        assert payload["errors"] == []
        items.append({"node": {"id": payload["knowledge"]["id"], "kind": kind, "text": text}})
    await add(api, other.user, kind="DOCUMENT", text="Not ours")

    # when
    everything = (await api.data(tenant.customer, KNOWLEDGE, {}))["knowledge"]
    documents = (await api.data(tenant.customer, KNOWLEDGE, {"kind": "DOCUMENT"}))["knowledge"]
    vectors = (await api.data(tenant.customer, KNOWLEDGE, {"kind": "VECTOR_ONLY"}))["knowledge"]
    page = (await api.data(tenant.customer, KNOWLEDGE, {"first": 2}))["knowledge"]

    # then
    no_more = {"hasNextPage": False, "hasPreviousPage": False}
    assert everything == {"totalCount": 5, "pageInfo": no_more, "edges": items[::-1]}
    assert documents == {"totalCount": None, "pageInfo": no_more, "edges": [items[3], items[0]]}
    assert vectors == {"totalCount": None, "pageInfo": no_more, "edges": [items[2]]}
    assert page == {
        "totalCount": 5,
        "pageInfo": {"hasNextPage": True, "hasPreviousPage": False},
        "edges": [items[4], items[3]],
    }
