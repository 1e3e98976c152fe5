"""Trusted documents (ONTOLOGY_TRUSTED_DOCUMENTS): the manifest, document ids, the modes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ontology.api.documents import MANIFEST, build_manifest, document_hash, render_manifest
from ontology.cli import app as cli
from ontology.config import Settings
from tests.api.test_http import api_with
from tests.factories import Api, make_tenant, raw_count

ROOT = Path(__file__).resolve().parents[2]
VIEWER_TEXT = (ROOT / "graphql" / "Viewer.graphql").read_text()
VIEWER_HASH = document_hash(VIEWER_TEXT)
VIEWER_ID = f"sha256:{VIEWER_HASH}"
CREATE_TEXT = (ROOT / "graphql" / "CreateThing.graphql").read_text()
RAW = "{ viewer { role } }"
UNKNOWN = "sha256:" + "0" * 64
NEWER = "application/graphql-response+json"


def test_the_committed_manifest_is_a_fresh_build_of_graphql() -> None:
    fresh = build_manifest(ROOT / "graphql")
    assert MANIFEST.read_text() == render_manifest(fresh)
    assert len(fresh) == len(list((ROOT / "graphql").glob("*.graphql")))
    assert fresh[VIEWER_HASH] == VIEWER_TEXT


def test_documents_build_writes_and_checks(tmp_path: Path) -> None:
    source = tmp_path / "docs"
    source.mkdir()
    (source / "A.graphql").write_text("query A { viewer { role } }\n")
    target = tmp_path / "manifest.json"
    runner = CliRunner()
    args = ["documents", "build", "--source", str(source), "--output", str(target)]
    stale = runner.invoke(cli, [*args, "--check"])
    assert stale.exit_code == 1
    assert not target.exists()
    built = runner.invoke(cli, args)
    assert built.exit_code == 0, built.output
    assert json.loads(target.read_text()) == {
        document_hash("query A { viewer { role } }\n"): "query A { viewer { role } }\n"
    }
    assert runner.invoke(cli, [*args, "--check"]).exit_code == 0


async def _tenant_key(api: Api) -> str:
    tenant = await make_tenant(api.runtime, "acme")
    return tenant.owner


async def _post(api: Api, key: str, body: Any, accept: str = "application/json") -> httpx.Response:
    return await api.client.post(
        "/graphql",
        json=body,
        headers={"Authorization": f"Bearer {key}", "Accept": accept},
    )


def _error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    (error,) = body["errors"]
    return response.status_code, error["extensions"]["code"], error["message"]


async def test_required_runs_manifest_ids_and_verbatim_documents_only(settings: Settings) -> None:
    async with api_with(settings, trusted_documents="required") as api:
        key = await _tenant_key(api)
        by_id = await _post(api, key, {"documentId": VIEWER_ID})
        assert by_id.status_code == 200
        assert by_id.json()["data"]["viewer"]["group"]["slug"] == "acme"
        apollo = await _post(
            api,
            key,
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": VIEWER_HASH}}},
        )
        assert apollo.json()["data"] == by_id.json()["data"]
        verbatim = await _post(api, key, {"query": VIEWER_TEXT})
        assert verbatim.json()["data"] == by_id.json()["data"]
        refused = await _post(api, key, {"query": RAW})
        assert _error(refused) == (
            200,
            "UNTRUSTED_DOCUMENT",
            "Only trusted documents run here: send a documentId "
            '("sha256:<hex>") from the manifest, or a document of it verbatim.',
        )
        assert refused.json()["data"] is None
        newer = await _post(api, key, {"query": RAW}, accept=NEWER)
        assert newer.status_code == 400
        assert "data" not in newer.json()
        registered = await _post(
            api,
            key,
            {
                "query": RAW,
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_hash(RAW)}},
            },
        )
        assert _error(registered) == (
            200,
            "UNTRUSTED_DOCUMENT",
            "Only trusted documents run here; this one is not in the manifest.",
        )
        unknown = await _post(api, key, {"documentId": UNKNOWN})
        assert _error(unknown) == (
            200,
            "PERSISTED_QUERY_NOT_FOUND",
            f"No trusted document has the id {UNKNOWN}.",
        )
        # nothing ran for a refused document: no thing was created
        create = await _post(
            api,
            key,
            {"query": CREATE_TEXT.replace("CreateThing", "Sneaky"), "variables": {}},
        )
        assert _error(create)[1] == "UNTRUSTED_DOCUMENT"
        assert await raw_count(api.runtime, "things", {}) == 0


async def test_allowed_runs_ids_and_raw_documents(settings: Settings) -> None:
    async with api_with(settings, trusted_documents="allowed") as api:
        key = await _tenant_key(api)
        raw = await _post(api, key, {"query": RAW})
        assert raw.json()["data"] == {"viewer": {"role": "ORG_OWNER"}}
        by_id = await _post(api, key, {"documentId": VIEWER_ID, "operationName": "Viewer"})
        assert by_id.json()["data"]["viewer"]["role"] == "ORG_OWNER"
        both = await _post(api, key, {"documentId": document_hash(RAW), "query": RAW})
        assert _error(both)[:2] == (400, "BAD_REQUEST")
        mismatch = await _post(api, key, {"documentId": VIEWER_ID, "query": RAW})
        assert _error(mismatch) == (
            400,
            "BAD_REQUEST",
            "The document id is not the SHA-256 of the query sent with it.",
        )
        unknown = await _post(api, key, {"documentId": UNKNOWN}, accept=NEWER)
        assert _error(unknown)[:2] == (400, "PERSISTED_QUERY_NOT_FOUND")


async def test_off_is_the_development_default_and_refuses_ids(settings: Settings) -> None:
    assert settings.trusted_documents_mode == "off"
    assert settings.model_copy(update={"env": "production"}).trusted_documents_mode == "required"
    async with api_with(settings) as api:
        key = await _tenant_key(api)
        assert (await _post(api, key, {"query": RAW})).json()["data"] == {
            "viewer": {"role": "ORG_OWNER"}
        }
        refused = await _post(api, key, {"documentId": VIEWER_ID})
        assert _error(refused) == (
            200,
            "PERSISTED_QUERY_NOT_SUPPORTED",
            "Document ids are not accepted here (ONTOLOGY_TRUSTED_DOCUMENTS=off): "
            "send the document as query.",
        )


async def test_batched_operations_are_each_resolved(settings: Settings) -> None:
    async with api_with(settings, trusted_documents="required", batching=True) as api:
        key = await _tenant_key(api)
        ok = await _post(
            api, key, [{"documentId": VIEWER_ID}, {"query": VIEWER_TEXT, "operationName": "Viewer"}]
        )
        assert ok.status_code == 200
        assert [item["data"]["viewer"]["role"] for item in ok.json()] == ["ORG_OWNER"] * 2
        one_bad = await _post(api, key, [{"documentId": VIEWER_ID}, {"query": RAW}])
        assert _error(one_bad)[:2] == (200, "UNTRUSTED_DOCUMENT")


async def test_get_with_a_document_id_is_cacheable(settings: Settings) -> None:
    async with api_with(
        settings, trusted_documents="required", trusted_documents_max_age=30
    ) as api:
        key = await _tenant_key(api)
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        response = await api.client.get(
            "/graphql", params={"documentId": VIEWER_ID}, headers=headers
        )
        assert response.status_code == 200
        assert response.json()["data"]["viewer"]["role"] == "ORG_OWNER"
        assert response.headers["cache-control"] == "private, max-age=30"
        assert response.headers["vary"] == "Accept, Authorization, X-Ontology-Group"
        apollo = await api.client.get(
            "/graphql",
            params={
                "extensions": json.dumps(
                    {"persistedQuery": {"version": 1, "sha256Hash": VIEWER_HASH}}
                )
            },
            headers=headers,
        )
        assert apollo.headers["cache-control"] == "private, max-age=30"
        # a browser's GET with an id runs it: no GraphiQL page in its place
        browser = await api.client.get(
            "/graphql",
            params={"documentId": VIEWER_ID},
            headers={"Authorization": f"Bearer {key}", "Accept": "text/html, */*"},
        )
        assert browser.json()["data"]["viewer"]["role"] == "ORG_OWNER"
        # errors, unknown ids and raw documents are not cacheable
        failing = await api.client.get(
            "/graphql",
            params={"documentId": VIEWER_ID, "operationName": "Nope"},
            headers=headers,
        )
        assert failing.json()["errors"][0]["message"] == 'Unknown operation named "Nope".'
        assert "cache-control" not in failing.headers
        unknown = await api.client.get("/graphql", params={"documentId": UNKNOWN}, headers=headers)
        assert "cache-control" not in unknown.headers
        assert unknown.headers["x-request-id"]


async def test_get_of_a_mutation_by_id_is_refused(settings: Settings) -> None:
    async with api_with(settings, trusted_documents="allowed") as api:
        key = await _tenant_key(api)
        create_id = f"sha256:{document_hash(CREATE_TEXT)}"
        response = await api.client.get(
            "/graphql",
            params={"documentId": create_id, "variables": json.dumps({"input": {}})},
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
        )
        assert response.status_code == 405
        assert "cache-control" not in response.headers


@pytest.mark.parametrize(
    "body",
    [
        {"documentId": VIEWER_HASH},
        {"documentId": "sha256:" + "A" * 64},
        {"documentId": 12},
        {"extensions": {"persistedQuery": {"sha256Hash": "xyz"}}},
        {"documentId": VIEWER_ID, "extensions": {"persistedQuery": {"sha256Hash": "1" * 64}}},
    ],
)
async def test_malformed_ids_are_bad_requests(settings: Settings, body: dict[str, Any]) -> None:
    async with api_with(settings, trusted_documents="allowed") as api:
        key = await _tenant_key(api)
        status, code, _ = _error(await _post(api, key, body))
        assert (status, code) == (400, "BAD_REQUEST")


async def test_an_unchanged_answer_is_revalidated_with_its_etag(settings: Settings) -> None:
    async with api_with(settings, env="production") as api:
        key = await _tenant_key(api)
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        params = {"documentId": VIEWER_ID}
        first = await api.client.get("/graphql", params=params, headers=headers)
        etag = first.headers["etag"]
        same = await api.client.get(
            "/graphql", params=params, headers={**headers, "If-None-Match": etag}
        )
        created = await _post(
            api,
            key,
            {
                "documentId": f"sha256:{document_hash(CREATE_TEXT)}",
                "variables": {"input": {"type": "creator", "name": "Ada"}},
            },
        )
        changed = await api.client.get(
            "/graphql", params=params, headers={**headers, "If-None-Match": etag}
        )

    assert first.status_code == 200
    assert etag == f'W/"{hashlib.sha256(first.content).hexdigest()[:32]}"'
    assert (same.status_code, same.content) == (304, b"")
    assert same.headers["etag"] == etag
    assert same.headers["cache-control"] == "private, max-age=0"
    assert same.headers["x-request-id"]
    assert created.json()["data"]["createThing"]["errors"] == []
    # the group's counts changed: a new answer with a new tag
    assert changed.status_code == 200
    assert changed.json()["data"]["viewer"]["group"]["counts"]["things"] == 1
    assert changed.headers["etag"] != etag
