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
