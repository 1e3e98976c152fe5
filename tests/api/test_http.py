"""GraphQL over HTTP: media types, status codes and bodies of ``/graphql``.

``application/graphql-response+json`` clients get 400 (and no ``data``) for a
document that cannot run; ``application/json`` clients get 200. Requests that
are not GraphQL requests get a 4xx whatever the media type, with a JSON body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from ontology.app import create_app
from ontology.config import Settings
from ontology.runtime import Runtime
from tests.factories import Api, Tenant, make_tenant, raw_count

GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"
JSON = "application/json; charset=utf-8"
VIEWER = "{ viewer { role } }"
CREATE = 'mutation { createThing(input: {type: "creator", name: "A"}) { errors { code } } }'


@asynccontextmanager
async def api_with(settings: Settings, **overrides: Any) -> AsyncIterator[Api]:
    """The app built with ``overrides`` on the test settings, lifespan running."""
    app = create_app(settings.model_copy(update=overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            runtime: Runtime = app.state.runtime
            yield Api(client=client, runtime=runtime)
        await runtime.database.client.drop_database(settings.db_name)


async def post_raw(
    api: Api, tenant: Tenant, body: bytes | str, accept: str | None, **headers: str
) -> httpx.Response:
    sent = {"Authorization": f"Bearer {tenant.user}", "Content-Type": "application/json"}
    sent.update(headers)
    request = api.client.build_request("POST", "/graphql", content=body, headers=sent)
    if accept is None:
        del request.headers["accept"]
    else:
        request.headers["accept"] = accept
    return await api.client.send(request)


async def post_query(
    api: Api, tenant: Tenant, query: str, accept: str | None, **extra: Any
) -> httpx.Response:
    return await post_raw(api, tenant, json.dumps({"query": query, **extra}), accept)


def status_type_body(response: httpx.Response) -> tuple[int, str, Any]:
    body = response.json()
    if isinstance(body, dict):
        body.pop("extensions", None)
    return response.status_code, response.headers["content-type"], body


# --- media types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        pytest.param("application/graphql-response+json", GRAPHQL_RESPONSE, id="newer"),
        pytest.param("application/json", JSON, id="legacy"),
        pytest.param("*/*", JSON, id="wildcard"),
        pytest.param(None, JSON, id="no-accept"),
        pytest.param("application/json;q=0.9, application/graphql-response+json", GRAPHQL_RESPONSE),
        pytest.param("application/graphql-response+json;q=0.5, application/json", JSON),
        pytest.param("application/graphql-response+json, application/json", GRAPHQL_RESPONSE),
        pytest.param("text/html, application/*;q=0.8", JSON, id="application-wildcard"),
    ],
)
async def test_a_successful_request_gets_the_negotiated_media_type(
    api: Api, accept: str | None, content_type: str
) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await post_query(api, tenant, VIEWER, accept)

    assert status_type_body(response) == (
        200,
        content_type,
        {"data": {"viewer": {"role": "ORG_USER"}}},
    )


async def test_a_request_accepting_neither_media_type_gets_406(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await post_query(api, tenant, VIEWER, "text/plain")

    assert status_type_body(response) == (
        406,
        JSON,
        {
            "data": None,
            "errors": [
                {
                    "message": "Accept application/graphql-response+json or application/json.",
                    "extensions": {"code": "NOT_ACCEPTABLE"},
                }
            ],
        },
    )


# --- documents that cannot run -----------------------------------------------------------

SYNTAX_ERROR = {
    "message": "Syntax Error: Expected Name, found <EOF>.",
    "locations": [{"line": 1, "column": 2}],
    "extensions": {"code": "GRAPHQL_PARSE_FAILED"},
}
UNKNOWN_FIELD = {
    "message": "Cannot query field 'viewr' on type 'Query'. Did you mean 'viewer'?",
    "locations": [{"line": 1, "column": 3}],
    "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
}
BAD_VARIABLE = {
    "message": "Variable '$n' has invalid value: Int cannot represent non-integer value: 'x'",
    "locations": [{"line": 1, "column": 7}],
    "extensions": {"code": "BAD_USER_INPUT"},
}
DOCUMENTS = [
    pytest.param("{", {}, SYNTAX_ERROR, id="syntax"),
    pytest.param("{ viewr { role } }", {}, UNKNOWN_FIELD, id="validation"),
    pytest.param(
        "query($n: Int!) { things(first: $n) { totalCount } }",
        {"variables": {"n": "x"}},
        BAD_VARIABLE,
        id="variables",
    ),
]


@pytest.mark.parametrize(("query", "extra", "error"), DOCUMENTS)
async def test_a_document_that_cannot_run_is_400_without_data_for_the_newer_media_type(
    api: Api, query: str, extra: dict[str, Any], error: dict[str, Any]
) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await post_query(api, tenant, query, "application/graphql-response+json", **extra)

    assert status_type_body(response) == (400, GRAPHQL_RESPONSE, {"errors": [error]})


@pytest.mark.parametrize(("query", "extra", "error"), DOCUMENTS)
async def test_a_document_that_cannot_run_is_200_with_null_data_for_legacy_json(
    api: Api, query: str, extra: dict[str, Any], error: dict[str, Any]
) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await post_query(api, tenant, query, "application/json", **extra)

    assert status_type_body(response) == (200, JSON, {"data": None, "errors": [error]})


async def test_field_errors_keep_200_and_data_for_the_newer_media_type(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await post_query(
        api,
        tenant,
        '{ things(first: 1, after: "garbage") { totalCount } }',
        "application/graphql-response+json",
    )

    assert status_type_body(response) == (
        200,
        GRAPHQL_RESPONSE,
        {
            "data": None,
            "errors": [
                {
                    "message": "Invalid cursor 'garbage'.",
                    "locations": [{"line": 1, "column": 3}],
                    "path": ["things"],
                    "extensions": {"code": "INVALID_CURSOR"},
                }
            ],
        },
    )


# --- requests that are not GraphQL requests ------------------------------------------------


def refusal(code: str, message: str, media_type: str = JSON) -> dict[str, Any]:
    body: dict[str, Any] = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return {"data": None, **body} if media_type == JSON else body


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param('{"query": ', "Unable to parse request body as JSON", id="malformed"),
        pytest.param(
            '{"query": 5}',
            "The GraphQL operation's `query` must be a string or null, if provided.",
            id="query-not-a-string",
        ),
        pytest.param(
            '{"query": "{ viewer { role } }", "variables": [1]}',
            "The GraphQL operation's `variables` must be an object or null, if provided.",
            id="variables-not-an-object",
        ),
        pytest.param(
            '{"notquery": "{ viewer { role } }"}',
            "No GraphQL query found in the request",
            id="no-query",
        ),
        pytest.param(
            '[{"query": "{ viewer { role } }"}, {"query": "{ viewer { role } }"}]',
            "One operation per request: send a JSON object, not an array "
            "(batching is not enabled).",
            id="batch",
        ),
    ],
)
async def test_a_malformed_request_is_400_for_every_media_type(
    api: Api, accept: str, body: str, message: str
) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await post_raw(api, tenant, body, accept)

    media_type = JSON if accept == "application/json" else GRAPHQL_RESPONSE
    assert status_type_body(response) == (
        400,
        media_type,
        refusal("BAD_REQUEST", message, media_type),
    )


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("text/plain", "text/plain"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("application/jsonx", "application/jsonx"),
    ],
)
async def test_an_unsupported_content_type_is_415(api: Api, content_type: str, named: str) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await post_raw(
        api,
        tenant,
        json.dumps({"query": VIEWER}),
        "application/json",
        **{"Content-Type": content_type},
    )

    assert status_type_body(response) == (
        415,
        JSON,
        refusal(
            "UNSUPPORTED_MEDIA_TYPE", f"Send the request body as application/json, not {named}."
        ),
    )


async def test_a_post_without_content_type_is_415(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    response = await api.client.post(
        "/graphql", content=b"{}", headers={"Authorization": f"Bearer {tenant.user}"}
    )

    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"] == {"code": "UNSUPPORTED_MEDIA_TYPE"}


async def test_charset_in_the_content_type_is_accepted(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await post_raw(
        api,
        tenant,
        json.dumps({"query": VIEWER}),
        None,
        **{"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 200


async def test_every_answer_carries_a_request_id_and_a_well_formed_one_is_kept(
    api: Api,
) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    auth = {"Authorization": f"Bearer {tenant.user}"}

    # when refusals that happen before GraphQL runs (415, 401) and a query are sent,
    # with and without a caller's X-Request-Id (one too long, one with a space)
    unsupported = await api.client.post("/graphql", content=b"{}", headers=auth)
    unauthenticated = await api.post(None, VIEWER)
    kept = await api.post(tenant.user, VIEWER, headers={"X-Request-Id": "edge-7f3a.1_b"})
    too_long = await api.post(tenant.user, VIEWER, headers={"X-Request-Id": "a" * 65})
    spaced = await api.post(tenant.user, VIEWER, headers={"X-Request-Id": "two words"})

    # then every answer carries one: the caller's when well formed, else a new one
    assert [r.status_code for r in (unsupported, unauthenticated, kept)] == [415, 401, 200]
    made = [r.headers["X-Request-Id"] for r in (unsupported, unauthenticated, too_long, spaced)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in made)
    assert len(set(made)) == 4
    assert kept.headers["X-Request-Id"] == "edge-7f3a.1_b"


# --- GET ----------------------------------------------------------------------------------


async def test_get_runs_queries(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await api.client.get(
        "/graphql",
        params={"query": VIEWER},
        headers={"Authorization": f"Bearer {tenant.user}", "Accept": "application/json"},
    )

    assert status_type_body(response) == (200, JSON, {"data": {"viewer": {"role": "ORG_USER"}}})


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_get_never_runs_a_mutation(api: Api, accept: str) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await api.client.get(
        "/graphql",
        params={"query": CREATE},
        headers={"Authorization": f"Bearer {tenant.user}", "Accept": accept},
    )

    media_type = JSON if accept == "application/json" else GRAPHQL_RESPONSE
    assert status_type_body(response) == (
        405,
        media_type,
        refusal(
            "METHOD_NOT_ALLOWED", "GET runs queries only; send mutations with POST.", media_type
        ),
    )
    assert response.headers["allow"] == "POST"
    assert await raw_count(api.runtime, "things", {"groupId": tenant.id}) == 0


async def test_other_methods_get_405_with_allow(api: Api) -> None:
    put = await api.client.put("/graphql", content=b"{}")
    head = await api.client.head("/graphql", params={"query": VIEWER})

    # PUT is refused by the route, HEAD by the endpoint
    assert put.status_code == 405
    assert sorted(put.headers["allow"].split(", ")) == ["GET", "HEAD", "POST"]
    assert (head.status_code, head.headers["allow"]) == (405, "GET, POST")


# --- body size ----------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_413_by_content_length_or_while_streaming(
    settings: Settings,
) -> None:
    async with api_with(settings, max_body_bytes=1000) as api:
        tenant = await make_tenant(api.runtime, "acme")
        padding = " " * 1000
        declared = await post_raw(api, tenant, json.dumps({"query": VIEWER}) + padding, None)

        async def chunks() -> AsyncIterator[bytes]:
            yield json.dumps({"query": VIEWER}).encode()
            for _ in range(10):
                yield b" " * 200

        streamed = await api.client.post(
            "/graphql",
            content=chunks(),
            headers={"Authorization": f"Bearer {tenant.user}", "Content-Type": "application/json"},
        )
        within = await post_raw(api, tenant, json.dumps({"query": VIEWER}) + " " * 900, None)

    refused = refusal("PAYLOAD_TOO_LARGE", "The request body is larger than 1,000 bytes.")
    assert "content-length" not in streamed.request.headers
    assert status_type_body(declared) == (413, JSON, refused)
    assert status_type_body(streamed) == (413, JSON, refused)
    assert within.status_code == 200


# --- batching -----------------------------------------------------------------------------


async def test_batching_when_enabled_runs_each_operation(settings: Settings) -> None:
    async with api_with(settings, batching=True, batch_max_operations=2) as api:
        tenant = await make_tenant(api.runtime, "acme")
        two = await post_raw(api, tenant, json.dumps([{"query": VIEWER}, {"query": VIEWER}]), None)
        three = await post_raw(api, tenant, json.dumps([{"query": VIEWER}] * 3), None)

    assert two.status_code == 200
    assert [item["data"] for item in two.json()] == [{"viewer": {"role": "ORG_USER"}}] * 2
    assert status_type_body(three) == (400, JSON, refusal("BAD_REQUEST", "Too many operations"))


# --- authentication -----------------------------------------------------------------------


async def test_a_missing_key_is_401_without_data_for_the_newer_media_type(api: Api) -> None:
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Accept": "application/graphql-response+json"}
    )

    assert status_type_body(response) == (
        401,
        GRAPHQL_RESPONSE,
        refusal(
            "UNAUTHENTICATED", "Missing `Authorization: Bearer <api key>` header.", GRAPHQL_RESPONSE
        ),
    )
    assert response.headers["www-authenticate"] == "Bearer"


# --- production switches ------------------------------------------------------------------

INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_production_turns_off_introspection_suggestions_and_graphiql(
    settings: Settings,
) -> None:
    # raw documents (trusted documents allowed, not required) to reach the validation
    async with api_with(settings, env="production", trusted_documents="allowed") as api:
        tenant = await make_tenant(api.runtime, "acme")
        introspection = await post_query(api, tenant, INTROSPECTION, None)
        typo = await post_query(api, tenant, "{ viewr { role } }", None)
        enum_typo = await post_query(
            api,
            tenant,
            "query($r: Role) { people(role: $r, first: 1) { totalCount } }",
            None,
            variables={"r": "ORG_USR"},
        )
        page = await api.client.get("/graphql", headers={"Accept": "text/html"})
        typename = await post_query(api, tenant, "{ __typename }", None)

    assert [(e["message"], e["extensions"]) for e in introspection.json()["errors"]] == [
        (
            "GraphQL introspection has been disabled, but the requested query "
            f"contained the field '{field}'.",
            {"code": "GRAPHQL_VALIDATION_FAILED"},
        )
        for field in ("__schema", "queryType")
    ]
    assert [e["message"] for e in typo.json()["errors"]] == [
        "Cannot query field 'viewr' on type 'Query'."
    ]
    assert [e["message"] for e in enum_typo.json()["errors"]] == [
        "Variable '$r' has invalid value: Value 'ORG_USR' does not exist in 'Role' enum."
    ]
    assert page.status_code == 404
    assert typename.json()["data"] == {"__typename": "Query"}


async def test_each_production_switch_can_be_turned_back_on(settings: Settings) -> None:
    async with api_with(
        settings,
        env="production",
        introspection=True,
        field_suggestions=True,
        graphiql=True,
        trusted_documents="allowed",
    ) as api:
        tenant = await make_tenant(api.runtime, "acme")
        introspection = await post_query(api, tenant, INTROSPECTION, None)
        typo = await post_query(api, tenant, "{ viewr { role } }", None)
        page = await api.client.get("/graphql", headers={"Accept": "text/html"})

    assert introspection.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    assert [e["message"] for e in typo.json()["errors"]] == [
        "Cannot query field 'viewr' on type 'Query'. Did you mean 'viewer'?"
    ]
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")


async def test_development_serves_introspection_and_graphiql(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    introspection = await post_query(api, tenant, INTROSPECTION, None)
    page = await api.client.get("/graphql", headers={"Accept": "text/html"})

    assert introspection.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    assert page.status_code == 200
