"""Fuzzing: schema-generated queries and mutations, and hostile property inputs.

Hypothesis (with hypothesis-graphql) writes valid documents from the schema and
sends them with a key of each role. Whatever they ask, the server answers
without a 5xx, without a masked "Unexpected error.", and with a documented
code on every error. The run is derandomized and bounded so the suite stays
fast; the hostile inputs below are fixed cases.

Generation uses a copy of the schema where ``first`` is a required 1-5 page
size and ``last`` is absent, so generated lists pass the page rules and reach
the resolvers (the rules themselves are tested in ``test_limits.py``).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from ontology.api.errors import UserErrorCode
from ontology.api.schema import export_sdl
from ontology.keys.models import Role
from ontology.kit.errors import RequestErrorCode
from tests.factories import Api, create_thing, group_counts, make_tenant, raw_count

# hypothesis-graphql 0.13 draws from ``random`` inside its strategies (seeded by Hypothesis)
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

# top-level codes come from RequestErrorCode, and a few field errors reuse a payload
# code (e.g. INVALID_RANGE for a history range); payload errors use the GraphQL ErrorCode
PAYLOAD_CODES = {c.value for c in UserErrorCode}
DOCUMENTED_CODES = ({c.value for c in RequestErrorCode} | PAYLOAD_CODES) - {
    RequestErrorCode.INTERNAL.value
}
ROLES = (Role.ORG_OWNER, Role.ORG_USER, Role.CUSTOMER)


def fuzzing_sdl() -> str:
    sdl = export_sdl()
    sdl = sdl.replace("first: Int = null", "first: PageSize!")
    sdl = re.sub(r", last: Int = null", "", sdl)
    return sdl + "\nscalar PageSize\n"


def json_value() -> st.SearchStrategy[graphql.ValueNode]:
    leaves = st.one_of(
        st.integers(-1000, 1000).map(lambda n: graphql.IntValueNode(value=str(n))),
        st.text(max_size=20).map(lambda s: graphql.StringValueNode(value=s)),
        st.booleans().map(lambda b: graphql.BooleanValueNode(value=b)),
        st.just(graphql.NullValueNode()),
    )
    keys = st.sampled_from(["a", "name", "$where", "a.b", "x\x00", "_id", "n1"])
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3).map(lambda v: graphql.ListValueNode(values=v)),
            st.dictionaries(keys, children, max_size=3).map(
                lambda d: graphql.ObjectValueNode(
                    fields=[
                        graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                        for k, v in d.items()
                        if re.fullmatch(r"[_A-Za-z][_0-9A-Za-z]*", k)
                    ]
                )
            ),
        ),
        max_leaves=8,
    )


CUSTOM_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "PageSize": st.integers(1, 5).map(lambda n: graphql.IntValueNode(value=str(n))),
    "JSON": json_value(),
    "Date": st.sampled_from(["2026-01-01", "2026-01-31", "2040-02-30", "today"]).map(
        lambda s: graphql.StringValueNode(value=s)
    ),
    "DateTime": st.sampled_from(
        ["2040-01-01T00:00:00+00:00", "2000-02-30T00:00:00", "yesterday", "2040-01-01"]
    ).map(lambda s: graphql.StringValueNode(value=s)),
}


def check_response(response: httpx.Response, document: str) -> None:
    """No 5xx, no masked error, and a documented code on every top-level error."""
    assert response.status_code < 500, (document, response.text)
    body = response.json()
    for error in body.get("errors") or []:
        assert error["message"] != "Unexpected error.", (document, error)
        assert (error.get("extensions") or {}).get("code") in DOCUMENTED_CODES, (document, error)
    for code in re.findall(r'"code":\s*"([A-Z_]+)"', response.text):
        assert code in DOCUMENTED_CODES, (document, code)


async def fuzz(api: Api, keys: dict[Role, str], strategy: st.SearchStrategy[Any], n: int) -> None:
    """Run ``n`` generated documents, each with a key of a drawn role.

    Hypothesis runs in a worker thread; each request is sent on this event loop.
    """
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(document=strategy, role=st.sampled_from(ROLES))
    def run(document: str, role: Role) -> None:
        sent = api.post(keys[role], document)
        response = asyncio.run_coroutine_threadsafe(sent, loop).result()
        check_response(response, document)

    await asyncio.to_thread(run)


async def test_generated_queries_never_fail_unexpectedly(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    ada = await create_thing(api, tenant.user, name="Ada")
    await create_thing(api, tenant.user, "community", name="Club")
    assert ada

    await fuzz(api, tenant.keys, queries(fuzzing_sdl(), custom_scalars=CUSTOM_SCALARS), 150)


async def test_generated_mutations_never_fail_unexpectedly(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    await create_thing(api, tenant.user, name="Ada")

    await fuzz(api, tenant.keys, mutations(fuzzing_sdl(), custom_scalars=CUSTOM_SCALARS), 150)

    # whatever was written, the counters still equal what is stored
    counts = await group_counts(api.runtime, tenant.id)
    assert counts["things"] == await raw_count(
        api.runtime, "things", {"groupId": tenant.id, "deletedAt": None}
    )
    assert counts["events"] == await raw_count(api.runtime, "events", {"groupId": tenant.id})


# --- hostile property inputs --------------------------------------------------------------

CREATE = """
mutation($properties: JSON!, $name: String! = "A") {
  createThing(input: {type: "creator", name: $name, properties: $properties}) {
    thing { id }
    errors { path code }
  }
}
"""


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


HOSTILE = [
    (
        {"$where": "sleep(1000)"},
        [{"path": "properties.$where", "code": "INVALID_PROPERTY_KEY"}],
    ),
    ({"a.b": 1}, [{"path": "properties.a.b", "code": "INVALID_PROPERTY_KEY"}]),
    ({"a\x00b": 1}, [{"path": "properties.a\x00b", "code": "INVALID_PROPERTY_KEY"}]),
    ({"ok": {"$gt": ""}}, [{"path": "properties.ok.$gt", "code": "INVALID_PROPERTY_KEY"}]),
    ({"trailing\n": 1}, [{"path": "properties.trailing\n", "code": "INVALID_PROPERTY_KEY"}]),
    (
        {f"k{n}": n for n in range(10_000)},
        [{"path": "properties", "code": "PROPERTIES_TOO_LARGE"}],
    ),
    (
        {"a": nested(20)},
        [{"path": "properties.a.a.a.a.a.a.a.a.a.a", "code": "PROPERTIES_TOO_DEEP"}],
    ),
    ({"big": "x" * 20_000_000}, [{"path": "properties", "code": "PROPERTIES_TOO_LARGE"}]),
]


async def test_hostile_properties_are_refused_with_typed_errors_and_nothing_written(
    api: Api,
) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    before = await group_counts(api.runtime, tenant.id)

    outcomes = []
    for properties, _ in HOSTILE:
        data = await api.data(tenant.user, CREATE, {"properties": properties})
        outcomes.append(data["createThing"])

    assert outcomes == [{"thing": None, "errors": errors} for _, errors in HOSTILE]
    assert await raw_count(api.runtime, "things", {"groupId": tenant.id}) == 0
    assert await raw_count(api.runtime, "events", {"groupId": tenant.id}) == 0
    assert await group_counts(api.runtime, tenant.id) == before


async def test_hostile_request_shapes_are_refused_before_anything_runs(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    before = await group_counts(api.runtime, tenant.id)

    # depth 200: over the request's JSON nesting limit (32)
    deep = await api.post(tenant.user, CREATE, {"properties": nested(200)})
    # a 20 MB name
    long_name = await api.post(tenant.user, CREATE, {"properties": {}, "name": "x" * 20_000_000})
    # a NUL in the type
    nul_type = await api.post(
        tenant.user,
        'mutation { createThing(input: {type: "creator\\u0000", name: "A"}) { errors { code } } }',
    )

    assert (deep.status_code, deep.json()["errors"][0]["extensions"]) == (
        400,
        {"code": "BAD_REQUEST"},
    )
    assert long_name.json()["data"]["createThing"]["errors"] == [
        {"path": "name", "code": "INVALID_NAME"}
    ]
    assert nul_type.json()["data"]["createThing"]["errors"] == [{"code": "UNKNOWN_TYPE"}]
    assert await raw_count(api.runtime, "things", {"groupId": tenant.id}) == 0
    assert await group_counts(api.runtime, tenant.id) == before
