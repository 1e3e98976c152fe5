"""Request limits: checked while parsing and validating, before any database work."""

from __future__ import annotations

from typing import Any

from tests.factories import Api, make_tenant


def nested_query(depth: int) -> str:
    """``things { edges { node { connections { edges { node { ... } } } } } }`` to ``depth``."""
    inner = "id"
    levels = 1
    while levels + 3 <= depth:
        inner = f"connections(first: 1) {{ edges {{ node {{ {inner} }} }} }}"
        levels += 3
    return f"{{ things(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"


def only_error(body: dict[str, Any]) -> str:
    assert body["data"] is None
    [error] = body["errors"]
    message: str = error["message"]
    return message


async def test_depth_over_the_limit_is_refused(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    within = await api.gql(tenant.user, nested_query(12))
    beyond = await api.gql(tenant.user, nested_query(15))

    assert "errors" not in within
    assert only_error(beyond) == "'anonymous' exceeds maximum operation depth of 12"
    assert beyond["extensions"]["cost"]["dbCommands"] == 0


async def test_aliases_over_the_limit_are_refused(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    aliases = " ".join(f"a{n}: viewer {{ role }}" for n in range(31))

    body = await api.gql(tenant.user, f"{{ {aliases} }}")

    assert only_error(body) == "31 aliases found. Allowed: 30"
    assert body["extensions"]["cost"]["dbCommands"] == 0


async def test_tokens_over_the_limit_are_refused(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    fields = " ".join("__typename" for _ in range(5001))

    body = await api.gql(tenant.user, f"{{ {fields} }}")

    assert only_error(body) == (
        "Syntax Error: Document contains more than 5000 tokens. Parsing aborted."
    )


def nested_list(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


async def test_variables_nested_too_deeply_get_400_before_anything_runs(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    query = """
    mutation($p: JSON!) {
      createThing(input: {type: "creator", name: "A", properties: $p}) { errors { code } }
    }
    """

    # variables -> p -> v -> lists: 32 levels in all, then 33
    allowed = await api.post(tenant.user, query, {"p": {"v": nested_list(30)}})
    too_deep = await api.post(tenant.user, query, {"p": {"v": nested_list(31)}})
    hostile = await api.client.post(
        "/graphql",
        content=b'{"query": "{ viewer { role } }", "variables": {"p": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}",
        headers={"Authorization": f"Bearer {tenant.user}", "Content-Type": "application/json"},
    )

    # 32 levels pass the request limit; the properties rule (depth <= 10) then refuses
    # them as a payload error
    assert allowed.status_code == 200
    assert allowed.json()["data"]["createThing"]["errors"] == [{"code": "PROPERTIES_TOO_DEEP"}]
    refused = {
        "data": None,
        "errors": [
            {
                "message": "Request JSON is nested deeper than 32 levels.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ],
    }
    assert (too_deep.status_code, too_deep.json()) == (400, refused)
    assert (hostile.status_code, hostile.json()) == (400, refused)


NESTED_LISTS = """
query($outer: Int!, $inner: Int!, $events: Int!) {
  things(first: $outer) {
    edges { node { ...Links } }
  }
  events(first: $events) { totalCount }
}
fragment Links on Thing {
  connections(first: $inner) { edges { node { activity(first: 2) { totalCount } } } }
}
"""


async def test_node_budget_is_the_sum_of_products_along_each_path(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    # things 100 + connections 100*100 + activity 100*100*2 + events 100 = 30,200
    within = await api.gql(tenant.user, NESTED_LISTS, {"outer": 100, "inner": 100, "events": 100})
    # things 100 + connections 100*100 + activity 100*100*4 + events 100 = 50,200
    beyond = await api.gql(
        tenant.user,
        NESTED_LISTS.replace("activity(first: 2)", "activity(first: 4)"),
        {"outer": 100, "inner": 100, "events": 100},
    )

    assert "errors" not in within
    assert beyond["data"] is None
    assert beyond["errors"] == [
        {
            "message": "The query could return 50,200 nodes; the limit is 50,000 (the sum over "
            "list fields of the product of `first`/`last` along each path).",
            "locations": [{"line": 2, "column": 1}],
            "extensions": {"code": "NODE_LIMIT_EXCEEDED", "limit": 50_000, "nodes": 50_200},
        }
    ]
    assert beyond["extensions"]["cost"]["dbCommands"] == 0


async def test_a_list_without_first_or_last_is_refused_wherever_it_is(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    query = """
    query { nodes(ids: []) { ... on Thing { activity { totalCount } } } }
    """

    body = await api.gql(tenant.user, query)

    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "`Thing.activity` needs `first` or `last` (between 1 and 100).",
            "locations": [{"line": 2, "column": 45}],
            "extensions": {"code": "INVALID_PAGINATION"},
        }
    ]
    assert body["extensions"]["cost"]["dbCommands"] == 0


async def test_nodes_by_ids_multiply_the_lists_below_them(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    query = """
    query($ids: [ID!]!) {
      nodes(ids: $ids) {
        ... on Thing {
          connections(first: 100) { edges { node { activity(first: 4) { totalCount } } } }
        }
      }
    }
    """
    ids = [f"missing-{n}" for n in range(100)]

    # 99 + 99 * 100 + 99 * 100 * 4 = 49,599; 100 ids make 50,100
    within = await api.gql(tenant.user, query, {"ids": ids[:99]})
    beyond = await api.gql(tenant.user, query, {"ids": ids})

    assert within["data"] == {"nodes": [None] * 99}
    assert [e["extensions"] for e in beyond["errors"]] == [
        {"code": "NODE_LIMIT_EXCEEDED", "limit": 50_000, "nodes": 50_100}
    ]


async def test_a_list_taking_only_first_needs_first(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    query = '{ archivedEvents(from: "2026-01-01", to: "2026-01-02") { edges { cursor } } }'

    body = await api.gql(tenant.user, query)

    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "`Query.archivedEvents` needs `first` (between 1 and 100).",
            "locations": [{"line": 1, "column": 3}],
            "extensions": {"code": "INVALID_PAGINATION"},
        }
    ]
    assert body["extensions"]["cost"]["dbCommands"] == 0
