"""OpenTelemetry: one trace per request across HTTP, the operation, resolvers, MongoDB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from ontology.api.schema import create_schema
from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from ontology.kit import tracing
from tests.api.test_http import api_with
from tests.factories import make_tenant
from tests.tracing_support import by_name, traced

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT}-01"
CREATE = """
mutation CreateThing($input: CreateThingInput!) {
  createThing(input: $input) { thing { id name } errors { code } }
}
"""
THINGS = "query Things { things(first: 5) { edges { node { name type } } } }"
MARKER = "Marker-7f3a"


def attribute_values(spans: Any) -> list[str]:
    return [str(value) for span in spans for value in (span.attributes or {}).values()]


def ancestors(span: ReadableSpan, spans: dict[int, ReadableSpan]) -> list[str]:
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in spans:
        above = spans[parent.span_id]
        names.append(above.name)
        parent = above.parent
    return names


async def test_a_request_is_one_trace_from_http_to_mongodb(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with traced() as exporter:
        async with api_with(settings) as api:
            tenant = await make_tenant(api.runtime, "acme")
            exporter.clear()
            capsys.readouterr()
            created = await api.client.post(
                "/graphql",
                json={
                    "query": CREATE,
                    "variables": {"input": {"type": "creator", "name": MARKER}},
                },
                headers={"Authorization": f"Bearer {tenant.owner}", "traceparent": TRACEPARENT},
            )
            spans = exporter.get_finished_spans()
            logged = capsys.readouterr().err

    assert created.json()["data"]["createThing"]["errors"] == []
    # (background work, e.g. the quota meter's flush, makes traces of its own)
    spans = [span for span in spans if format(span.context.trace_id, "032x") == TRACE_ID]
    named = by_name(spans)
    (server,) = named["POST /graphql"]
    assert server.kind == SpanKind.SERVER
    assert format(server.parent.span_id, "016x") == PARENT
    assert server.attributes == {
        "http.request.method": "POST",
        "url.path": "/graphql",
        "url.scheme": "http",
        "http.route": "/graphql",
        "http.response.status_code": 200,
        "ontology.request_id": created.headers["x-request-id"],
    }
    (operation,) = named["mutation CreateThing"]
    assert operation.parent.span_id == server.context.span_id
    assert operation.attributes == {
        "graphql.operation.name": "CreateThing",
        "graphql.operation.type": "mutation",
        "ontology.group_id": str(tenant.id),
        "ontology.group": "acme",
        "ontology.request_id": created.headers["x-request-id"],
    }
    (resolver,) = named["Mutation.createThing"]
    assert resolver.parent.span_id == operation.context.span_id
    assert resolver.attributes == {
        "graphql.field.name": "createThing",
        "graphql.field.path": "createThing",
        "graphql.parent_type": "Mutation",
    }
    # no span for fields read off an object (name, errors, code)
    assert sorted(n for n in named if n.startswith(("Thing.", "CreateThingPayload."))) == []
    # MongoDB commands: the key lookup under the server span (a key's first request: key,
    # group, key again, ontology.keys.cache), the writes under the resolver
    by_id = {span.context.span_id: span for span in spans}
    commands = [s for s in spans if s.attributes and s.attributes.get("db.system") == "mongodb"]
    assert all(s.kind == SpanKind.CLIENT for s in commands)
    db = settings.db_name
    assert [
        (s.name, s.attributes["db.namespace"], ancestors(s, by_id)[0])
        for s in sorted(commands, key=lambda s: s.start_time or 0)
    ] == [
        ("find api_keys", db, "POST /graphql"),
        ("find groups", db, "POST /graphql"),
        ("find api_keys", db, "POST /graphql"),
        ("find usage", db, "mutation CreateThing"),
        ("findAndModify groups", db, "Mutation.createThing"),
        ("insert things", db, "Mutation.createThing"),
        ("insert events", db, "Mutation.createThing"),
        ("update counters", db, "Mutation.createThing"),
        ("commitTransaction", "admin", "Mutation.createThing"),
    ]
    # never the variables, the document or the key
    values = attribute_values(spans)
    assert not [
        v for v in values if MARKER in v or tenant.owner in v or "$input" in v or "creator" in v
    ]
    # the operation's log line carries the trace id
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    (line,) = [entry for entry in lines if entry["message"] == "operation"]
    assert line["trace_id"] == TRACE_ID
    assert line["span_id"] == format(operation.context.span_id, "016x")


async def test_resolvers_with_their_own_code_get_spans_and_others_none(settings: Settings) -> None:
    with traced() as exporter:
        async with api_with(settings) as api:
            tenant = await make_tenant(api.runtime, "acme")
            for name in ("A", "B"):
                await api.post(tenant.owner, CREATE, {"input": {"type": "creator", "name": name}})
            exporter.clear()
            response = await api.post(tenant.owner, THINGS)
            spans = exporter.get_finished_spans()

    assert len(response.json()["data"]["things"]["edges"]) == 2
    named = by_name(spans)
    graphql = sorted(n for n in named if "." in n and n.split(".")[0][0].isupper())
    assert graphql == ["Query.things"]
    (operation,) = named["query Things"]
    assert operation.status.status_code == StatusCode.UNSET
    # a new trace (no traceparent): the server span is its root
    (server,) = named["POST /graphql"]
    assert server.parent is None


async def test_a_refused_request_and_an_unknown_route_are_traced(settings: Settings) -> None:
    with traced() as exporter:
        async with api_with(settings) as api:
            refused = await api.client.post("/graphql", json={"query": "{ viewer { role } }"})
            missing = await api.client.get("/nowhere")
            spans = exporter.get_finished_spans()

    assert (refused.status_code, missing.status_code) == (401, 404)
    named = by_name(spans)
    assert named["POST /graphql"][0].attributes["http.response.status_code"] == 401
    (unknown,) = named["GET"]
    assert unknown.attributes == {
        "http.request.method": "GET",
        "url.path": "/nowhere",
        "url.scheme": "http",
        "http.response.status_code": 404,
    }


def extension_names() -> list[str]:
    """The schema's extensions by class (factories are called to see what they build)."""
    return [
        (extension if isinstance(extension, type) else type(extension())).__name__
        for extension in create_schema().extensions
    ]


def test_without_tracing_the_schema_has_no_tracing_hook() -> None:
    assert tracing.tracer() is None
    untraced = extension_names()
    with traced():
        traced_names = extension_names()

    assert "CostExtension" in untraced
    assert "TracingExtension" not in untraced
    assert traced_names == ["TracingExtension", *untraced]


def test_nothing_of_opentelemetry_is_imported_or_needed_without_otel_variables() -> None:
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys

        class NoOpenTelemetry:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "opentelemetry":
                    raise ImportError(name)

        sys.meta_path.insert(0, NoOpenTelemetry())
        import ontology
        for module in pkgutil.walk_packages(ontology.__path__, "ontology."):
            if module.name != "ontology.api.tracing":
                importlib.import_module(module.name)
        from ontology.app import create_app
        from ontology.config import Settings
        create_app(Settings())
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_console_exporter_prints_a_traced_request(mongo_server: EmbeddedServer) -> None:
    script = textwrap.dedent(
        """
        import asyncio, httpx, uuid
        from ontology.app import create_app
        from ontology.config import Settings

        async def main():
            settings = Settings(mongodb_uri=MONGODB_URI, db_name="trace_" + uuid.uuid4().hex[:8])
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    answer = await client.post(
                        "/graphql",
                        json={"query": "{ viewer { role } }"},
                        headers={"Authorization": "Bearer ont_nokey"},
                    )
                    assert answer.status_code == 401, answer.text
                await app.state.runtime.database.client.drop_database(settings.db_name)

        asyncio.run(main())
        """
    ).replace("MONGODB_URI", repr(mongo_server.uri))
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "ontology-test"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads("[" + result.stdout.replace("}\n{", "},\n{") + "]")
    names = [span["name"] for span in printed]
    assert "POST /graphql" in names
    assert "find api_keys" in names or any(n.startswith("find ") for n in names), names
    server = next(span for span in printed if span["name"] == "POST /graphql")
    assert server["kind"] == "SpanKind.SERVER"
    assert server["attributes"]["http.response.status_code"] == 401
    assert server["resource"]["attributes"]["service.name"] == "ontology-test"
    assert "ont_nokey" not in result.stdout


def test_an_unknown_exporter_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "_configured", False)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(tracing.TracingUnavailable) as raised:
        tracing.configure_from_env()
    assert str(raised.value) == (
        "OTEL_TRACES_EXPORTER=zipkin is not supported here: use console, otlp or none."
    )
    assert tracing.tracer() is None
