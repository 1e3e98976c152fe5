"""People through the GraphQL API: createPerson and the people list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ontology.kit.ids import parse_global_id
from tests.factories import (
    Api,
    SettableClock,
    clock_at,
    global_id,
    group_counts,
    make_tenant,
    payload_error,
    raw_count,
    sizes_and_counters,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

CREATE = """
mutation($input: CreatePersonInput!) {
  createPerson(input: $input) {
    person { id email name role createdAt }
    errors { index path code message }
  }
}
"""
PEOPLE = """
query($role: Role, $first: Int = 20) {
  people(role: $role, first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    edges { node { id email name role } }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { ... on Person { id email name role createdAt } } }"


@pytest.fixture(autouse=True)
def clock() -> Iterator[SettableClock]:
    with clock_at(T0) as settable:
        yield settable


error = payload_error


INVALID_EMAIL = error("email", "INVALID_INPUT", "Not a valid email address.")


async def create_person(
    api: Api, key: str, email: str, name: str, role: str | None = None
) -> dict[str, Any]:
    person_input: dict[str, Any] = {"email": email, "name": name}
    if role is not None:
        person_input["role"] = role
    data = await api.data(key, CREATE, {"input": person_input})
    payload: dict[str, Any] = data["createPerson"]
    return payload


async def assert_forbidden(api: Api, key: str, variables: dict[str, Any], has: str) -> None:
    body = await api.gql(key, CREATE, variables)
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
            "message": f"This operation needs the org_owner role; the key has {has}.",
            "path": ["createPerson"],
            "code": "FORBIDDEN",
        }
    ]


# --- createPerson ----------------------------------------------------------------------


async def test_create_person_normalises_the_email_and_counts_the_person(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    before = await group_counts(api.runtime, tenant.id)

    # when
    payload = await create_person(api, tenant.owner, "  Ada.Lovelace@Example.COM ", "  Ada  ")

    # then
    person_id = payload["person"]["id"]
    person_oid = parse_global_id(person_id, "Person")
    assert person_oid is not None
    expected = {
        "id": global_id("Person", person_oid),
        "email": "ada.lovelace@example.com",
        "name": "Ada",
        "role": "ORG_USER",
        "createdAt": T0.isoformat(),
    }
    assert payload == {"person": expected, "errors": []}
    assert (await api.data(tenant.owner, NODE, {"id": person_id}))["node"] == expected
    doc = await api.runtime.database.collection("people").find_one({"_id": person_oid})
    assert doc == {
        "_id": person_oid,
        "groupId": tenant.id,
        "email": "ada.lovelace@example.com",
        "name": "Ada",
        "role": "org_user",
        "createdAt": T0,
    }
    assert await group_counts(api.runtime, tenant.id) == {**before, "people": 1}
    assert await raw_count(api.runtime, "events", {}) == 0


@pytest.mark.parametrize("role", ["ORG_OWNER", "ORG_USER", "CUSTOMER"])
async def test_create_person_with_each_tenant_role(api: Api, role: str) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")

    # when
    payload = await create_person(api, tenant.owner, "ada@example.com", "Ada", role)

    # then
    assert payload["errors"] == []
    assert (payload["person"]["email"], payload["person"]["role"]) == ("ada@example.com", role)
    assert (await group_counts(api.runtime, tenant.id))["people"] == 1


async def test_create_person_with_an_email_already_in_the_group_is_a_duplicate(
    api: Api,
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    first = await create_person(api, tenant.owner, "ada@example.com", "Ada")
    assert first["errors"] == []
    before = await sizes_and_counters(api, tenant)

    # when
    payload = await create_person(api, tenant.owner, " ADA@example.com", "Another Ada", "CUSTOMER")

    # then
    assert payload == {
        "person": None,
        "errors": [error("email", "DUPLICATE", "ada@example.com is already in this group.")],
    }
    assert await sizes_and_counters(api, tenant) == before


async def test_the_same_email_may_join_another_group(api: Api) -> None:
    # given
    acme = await make_tenant(api.runtime, "acme")
    globex = await make_tenant(api.runtime, "globex")
    await create_person(api, acme.owner, "ada@example.com", "Ada")

    # when
    payload = await create_person(api, globex.owner, "ada@example.com", "Ada")

    # then
    assert payload["errors"] == []
    assert (await group_counts(api.runtime, acme.id))["people"] == 1
    assert (await group_counts(api.runtime, globex.id))["people"] == 1


@pytest.mark.parametrize(
    ("email", "name", "role", "expected"),
    [
        pytest.param("not-an-email", "Ada", None, [INVALID_EMAIL], id="no-at"),
        pytest.param("ada@", "Ada", None, [INVALID_EMAIL], id="no-domain"),
        pytest.param("@example.com", "Ada", None, [INVALID_EMAIL], id="no-local-part"),
        pytest.param("ada@example", "Ada", None, [INVALID_EMAIL], id="no-dot-in-domain"),
        pytest.param("ada lovelace@example.com", "Ada", None, [INVALID_EMAIL], id="space"),
        pytest.param("ada@b@example.com", "Ada", None, [INVALID_EMAIL], id="two-ats"),
        pytest.param("   ", "Ada", None, [INVALID_EMAIL], id="blank"),
        pytest.param(f"{'a' * 65}@example.com", "Ada", None, [INVALID_EMAIL], id="65-char-local"),
        pytest.param(
            f"ada@{'e' * (4 * 1024 * 1024)}.com", "Ada", None, [INVALID_EMAIL], id="4-mib-email"
        ),
        pytest.param(
            "ada@example.com",
            "n" * (4 * 1024 * 1024),
            None,
            [error("name", "INVALID_NAME", "Name is 4194304 characters; the limit is 256.")],
            id="4-mib-name",
        ),
        pytest.param(
            "ada@example.com",
            " ",
            None,
            [error("name", "INVALID_NAME", "Name must not be empty.")],
            id="blank-name",
        ),
        pytest.param(
            "ada@example.com",
            "n" * 257,
            None,
            [error("name", "INVALID_NAME", "Name is 257 characters; the limit is 256.")],
            id="257-char-name",
        ),
        pytest.param(
            "ada@example.com",
            "Ada",
            "PLATFORM_OWNER",
            [
                error(
                    "role",
                    "INVALID_INPUT",
                    "platform_owner is a staff role and cannot be given to a person here.",
                )
            ],
            id="platform-owner-role",
        ),
        pytest.param(
            "nope",
            "",
            "PLATFORM_OWNER",
            [
                INVALID_EMAIL,
                error("name", "INVALID_NAME", "Name must not be empty."),
                error(
                    "role",
                    "INVALID_INPUT",
                    "platform_owner is a staff role and cannot be given to a person here.",
                ),
            ],
            id="every-error-at-once",
        ),
    ],
)
async def test_create_person_rejects_bad_input_and_writes_nothing(
    api: Api, email: str, name: str, role: str | None, expected: list[dict[str, Any]]
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    await create_person(api, tenant.owner, "existing@example.com", "Existing")
    before = await sizes_and_counters(api, tenant)

    # when
    payload = await create_person(api, tenant.owner, email, name, role)

    # then
    assert payload == {"person": None, "errors": expected}
    assert await sizes_and_counters(api, tenant) == before


@pytest.mark.parametrize("role", ["user", "customer"])
async def test_create_person_below_org_owner_is_forbidden_and_writes_nothing(
    api: Api, role: str
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    key, has = (tenant.user, "org_user") if role == "user" else (tenant.customer, "customer")
    before = await sizes_and_counters(api, tenant)

    # when / then
    await assert_forbidden(api, key, {"input": {"email": "ada@example.com", "name": "Ada"}}, has)
    assert await sizes_and_counters(api, tenant) == before


# --- people ----------------------------------------------------------------------------


async def test_people_lists_newest_first_with_role_filter(api: Api, clock: SettableClock) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    ids = {}
    for email, role in (
        ("ada@example.com", "ORG_OWNER"),
        ("bob@example.com", "ORG_USER"),
        ("cy@example.com", "CUSTOMER"),
        ("di@example.com", "ORG_USER"),
    ):
        clock.advance(seconds=1)
        payload = await create_person(api, tenant.owner, email, email.split("@")[0].title(), role)
        ids[email] = payload["person"]["id"]
    await create_person(api, other.owner, "eve@example.com", "Eve")

    # when
    everyone = (await api.data(tenant.user, PEOPLE, {}))["people"]
    users = (await api.data(tenant.user, PEOPLE, {"role": "ORG_USER"}))["people"]
    page = (await api.data(tenant.user, PEOPLE, {"first": 2}))["people"]

    # then
    def person(email: str, role: str) -> dict[str, Any]:
        name = email.split("@")[0].title()
        return {"node": {"id": ids[email], "email": email, "name": name, "role": role}}

    assert everyone == {
        "totalCount": 4,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
        "edges": [
            person("di@example.com", "ORG_USER"),
            person("cy@example.com", "CUSTOMER"),
            person("bob@example.com", "ORG_USER"),
            person("ada@example.com", "ORG_OWNER"),
        ],
    }
    assert users == {
        "totalCount": None,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
        "edges": [person("di@example.com", "ORG_USER"), person("bob@example.com", "ORG_USER")],
    }
    assert page["totalCount"] == 4
    assert page["edges"] == everyone["edges"][:2]
    assert page["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
