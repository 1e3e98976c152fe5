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
    assert (too_deep.status_code, too_deep.text) == (
        400,
        "Request JSON is nested deeper than 32 levels.",
    )
    assert (hostile.status_code, hostile.text) == (
        400,
        "Request JSON is nested deeper than 32 levels.",
    )
