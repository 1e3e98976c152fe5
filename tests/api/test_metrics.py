"""``GET /metrics``: Prometheus text with exact figures after known operations."""

from __future__ import annotations

import gzip
import secrets
from pathlib import Path
from typing import Any

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from ontology.api.graphiql import load_examples, operation_names
from ontology.app import create_app
from ontology.config import Settings
from ontology.kit.metrics import MAX_OTHER_OPERATION_NAMES, Metrics
from ontology.ledger.plans import Metric
from tests.api.test_http import api_with
from tests.factories import Api, make_tenant

ROOT = Path(__file__).resolve().parents[2]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

VIEWER = "query Viewer { viewer { role } }"
THINGS = "query Things { things(first: 5) { edges { node { name } } } }"
CREATE = """
mutation Create($input: CreateThingInput!) {
  createThing(input: $input) { thing { id } errors { code } }
}
"""
BATCH = """
mutation Batch($input: BatchInsertThingsInput!) {
  batchInsertThings(input: $input) { results { status } errors { code } }
}
"""


async def scrape(api: Api) -> Samples:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue  # creation timestamps
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def picked(samples: Samples, prefix: str) -> dict[str, float]:
    """Samples of one metric as ``"name{a=1,b=2}" -> value``, for exact comparisons."""
    return {
        name + "{" + ",".join(f"{k}={v}" for k, v in labels) + "}": value
        for (name, labels), value in samples.items()
        if name.startswith(prefix)
    }


def things(count: int, prefix: str, key: str | None = None) -> dict[str, Any]:
    batch: dict[str, Any] = {
        "things": [{"type": "creator", "name": f"{prefix}{i}"} for i in range(count)]
    }
    if key is not None:
        batch["idempotencyKey"] = key
    return {"input": batch}


async def test_a_fresh_app_exposes_every_metric_at_zero(api: Api) -> None:
    samples = await scrape(api)

    assert picked(samples, "ontology_graphql_requests") == {}
    assert picked(samples, "ontology_quota_refusals") == {}
    assert picked(samples, "ontology_events_archived") == {"ontology_events_archived_total{}": 0}
    assert picked(samples, "ontology_archived_bytes") == {"ontology_archived_bytes_total{}": 0}
    assert picked(samples, "ontology_scheduler_lease_holder") == {}


async def test_operations_are_counted_by_name_and_outcome_with_their_commands(api: Api) -> None:
    # given a tenant
    tenant = await make_tenant(api.runtime, "acme")

    # when it runs two Viewer queries, one Things query and a forbidden mutation
    costs = []
    for query in (VIEWER, VIEWER, THINGS):
        body = await api.gql(tenant.owner, query)
        costs.append(body["extensions"]["cost"]["dbCommands"])
    forbidden = await api.gql(
        tenant.customer, CREATE, {"input": {"type": "creator", "name": "Ada"}}
    )
    anonymous = await api.gql(tenant.owner, "{ viewer { role } }")

    # then every operation is counted with its outcome and its database commands
    assert costs == [0, 0, 1]
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "errors" not in anonymous
    samples = await scrape(api)
    assert picked(samples, "ontology_graphql_requests") == {
        "ontology_graphql_requests_total{operation=Viewer,outcome=ok}": 2,
        "ontology_graphql_requests_total{operation=Things,outcome=ok}": 1,
        "ontology_graphql_requests_total{operation=Create,outcome=rejected}": 1,
        "ontology_graphql_requests_total{operation=anonymous,outcome=ok}": 1,
    }
    commands = picked(samples, "ontology_graphql_db_commands")
    assert {k: v for k, v in commands.items() if "_bucket" not in k} == {
        "ontology_graphql_db_commands_count{operation=Viewer}": 2,
        "ontology_graphql_db_commands_sum{operation=Viewer}": 0,
        "ontology_graphql_db_commands_count{operation=Things}": 1,
        "ontology_graphql_db_commands_sum{operation=Things}": 1,
        "ontology_graphql_db_commands_count{operation=Create}": 1,
        "ontology_graphql_db_commands_sum{operation=Create}": 0,
        "ontology_graphql_db_commands_count{operation=anonymous}": 1,
        "ontology_graphql_db_commands_sum{operation=anonymous}": 0,
    }
    assert commands["ontology_graphql_db_commands_bucket{le=0.0,operation=Viewer}"] == 2
    assert commands["ontology_graphql_db_commands_bucket{le=0.0,operation=Things}"] == 0
    assert commands["ontology_graphql_db_commands_bucket{le=1.0,operation=Things}"] == 1
    latency = picked(samples, "ontology_graphql_request_duration_seconds_count")
    assert latency == {
        "ontology_graphql_request_duration_seconds_count{operation=Viewer,outcome=ok}": 2,
        "ontology_graphql_request_duration_seconds_count{operation=Things,outcome=ok}": 1,
        "ontology_graphql_request_duration_seconds_count{operation=Create,outcome=rejected}": 1,
        "ontology_graphql_request_duration_seconds_count{operation=anonymous,outcome=ok}": 1,
    }
    viewer_seconds = ("operation", "Viewer"), ("outcome", "ok")
    assert samples[("ontology_graphql_request_duration_seconds_sum", viewer_seconds)] > 0


async def test_quota_refusals_are_counted_per_metric(api: Api) -> None:
    # given a group allowed two entities
    tenant = await make_tenant(api.runtime, "acme")
    quotas = api.runtime.services.quotas
    await quotas.set_limit(tenant.id, Metric.ENTITIES_TOTAL, 2)

    # when a batch of three and then a single create exceed it
    batch = await api.data(tenant.user, BATCH, things(3, "t"))
    await api.data(tenant.user, CREATE, {"input": {"type": "creator", "name": "a"}})
    await api.data(tenant.user, CREATE, {"input": {"type": "creator", "name": "b"}})
    refused = await api.data(tenant.user, CREATE, {"input": {"type": "creator", "name": "c"}})
    # and the API-call limit is reached
    await quotas.meter.flush()
    used = await quotas.meter.current(tenant.id)
    await quotas.set_limit(tenant.id, Metric.API_CALLS_PER_MONTH, used)
    over = await api.post(tenant.user, THINGS)

    # then each refusal is counted under its metric
    assert [e["code"] for e in batch["batchInsertThings"]["errors"]] == ["QUOTA_EXCEEDED"] * 3
    assert refused["createThing"]["errors"] == [{"code": "QUOTA_EXCEEDED"}]
    assert over.status_code == 429
    samples = await scrape(api)
    assert picked(samples, "ontology_quota_refusals") == {
        "ontology_quota_refusals_total{metric=entities_total}": 2,
        "ontology_quota_refusals_total{metric=api_calls_per_month}": 1,
    }
    assert picked(samples, "ontology_graphql_requests_total") == {
        "ontology_graphql_requests_total{operation=Batch,outcome=ok}": 1,
        "ontology_graphql_requests_total{operation=Create,outcome=ok}": 3,
        "ontology_graphql_requests_total{operation=Things,outcome=rejected}": 1,
    }


async def test_batch_items_written_count_created_and_changed_items_once(api: Api) -> None:
    # given a tenant
    tenant = await make_tenant(api.runtime, "acme")
    update = """
    mutation Update($input: BatchUpdateThingsInput!) {
      batchUpdateThings(input: $input) { results { status } }
    }
    """

    # when it inserts three things with a key, replays the same request,
    inserted = await api.data(tenant.user, BATCH, things(3, "t", key="k1"))
    replayed = await api.data(tenant.user, BATCH, things(3, "t", key="k1"))
    # sends a batch that is rejected as a whole, and updates one thing of two
    await api.data(
        tenant.user,
        BATCH,
        {"input": {"things": [{"type": "creator", "name": "ok"}, {"type": "nope", "name": "x"}]}},
    )
    assert replayed == inserted
    listed = await api.data(tenant.user, "{ things(first: 20) { edges { node { id name } } } }")
    by_name = {e["node"]["name"]: e["node"]["id"] for e in listed["things"]["edges"]}
    updated = await api.data(
        tenant.user,
        update,
        {"input": {"updates": [{"id": by_name["t0"], "name": "renamed"}, {"id": by_name["t1"]}]}},
    )

    # then only the items really written count
    assert [r["status"] for r in updated["batchUpdateThings"]["results"]] == [
        "UPDATED",
        "UNCHANGED",
    ]
    samples = await scrape(api)
    assert picked(samples, "ontology_batch_items_written") == {
        "ontology_batch_items_written_total{operation=batchInsertThings}": 3,
        "ontology_batch_items_written_total{operation=batchUpdateThings}": 1,
    }


def test_operation_names_from_clients_cannot_grow_the_series_without_bound() -> None:
    metrics = Metrics()
    metrics.trust_operations(["Viewer", "Things"])

    labels = [metrics.operation_label(f"Op{i}") for i in range(MAX_OTHER_OPERATION_NAMES + 2)]

    assert labels[:MAX_OTHER_OPERATION_NAMES] == [
        f"Op{i}" for i in range(MAX_OTHER_OPERATION_NAMES)
    ]
    assert labels[MAX_OTHER_OPERATION_NAMES:] == ["other", "other"]
    assert metrics.operation_label("Op0") == "Op0"
    # the trusted documents' names keep their labels after the others are used up
    assert metrics.operation_label("Viewer") == "Viewer"
    assert metrics.operation_label("Things") == "Things"
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("bad name!") == "other"
    assert metrics.operation_label("A" * 65) == "other"


async def test_a_thousand_random_operation_names_make_a_bounded_set_of_labels(
    settings: Settings,
) -> None:
    async with api_with(settings, rate_limit_per_key=0, rate_limit_per_group=0) as api:
        # given a tenant
        tenant = await make_tenant(api.runtime, "acme")
        names = [f"Op{secrets.token_hex(8)}" for _ in range(1000)]

        # when it runs 1,000 operations under random names, and then the trusted Viewer
        for name in names:
            await api.data(tenant.user, f"query {name} {{ viewer {{ role }} }}")
        await api.data(tenant.user, (ROOT / "graphql" / "Viewer.graphql").read_text())

        # then only the first 100 names have a label, the rest share "other",
        # and the trusted document still has its own
        samples = await scrape(api)
        counted = {
            dict(labels)["operation"]: value
            for (name, labels), value in samples.items()
            if name == "ontology_graphql_requests_total"
        }
        assert counted == {
            **{name: 1 for name in names[:MAX_OTHER_OPERATION_NAMES]},
            "other": 1000 - MAX_OTHER_OPERATION_NAMES,
            "Viewer": 1,
        }


def test_every_trusted_document_name_is_trusted() -> None:
    names = operation_names(load_examples())

    assert names == {path.stem for path in (ROOT / "graphql").glob("*.graphql")}


def test_job_and_lease_metrics_record_what_the_scheduler_reports() -> None:
    metrics = Metrics()

    metrics.record_job_run("archive_events", "ok", 2.0)
    metrics.record_job_run("archive_events", "ok", 4.0)
    metrics.record_job_run("archive_events", "error", 1.0)
    metrics.events_archived.inc(1000)
    metrics.archived_bytes.inc(52_431)
    metrics.set_lease_holder("host-a:123")
    metrics.set_lease_holder(None)
    metrics.set_lease_holder("host-b:7")

    text = metrics.render().decode()
    assert 'ontology_job_runs_total{job="archive_events",outcome="ok"} 2.0' in text
    assert 'ontology_job_runs_total{job="archive_events",outcome="error"} 1.0' in text
    assert 'ontology_job_duration_seconds_sum{job="archive_events",outcome="ok"} 6.0' in text
    assert "ontology_events_archived_total 1000.0" in text
    assert "ontology_archived_bytes_total 52431.0" in text
    assert [line for line in text.splitlines() if line.startswith("ontology_scheduler_lease")] == [
        'ontology_scheduler_lease_holder{holder="host-b:7"} 1.0'
    ]


async def test_two_apps_in_one_process_keep_separate_registries(settings: Settings) -> None:
    first, second = create_app(settings), create_app(settings)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        first.state.runtime.metrics.quota_refusals.labels("users").inc()

        assert first.state.runtime.metrics is not second.state.runtime.metrics
        assert "ontology_quota_refusals_total" in first.state.runtime.metrics.render().decode()
        assert 'metric="users"' not in second.state.runtime.metrics.render().decode()
        await first.state.runtime.database.client.drop_database(settings.db_name)


async def test_metrics_needs_the_token_when_one_is_set(settings: Settings) -> None:
    async with api_with(settings, metrics_token=SecretStr("s3cret-scrape")) as api:
        missing = await api.client.get("/metrics")
        wrong = await api.client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        basic = await api.client.get("/metrics", headers={"Authorization": "Basic s3cret-scrape"})
        right = await api.client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
        lower = await api.client.get("/metrics", headers={"Authorization": "bearer s3cret-scrape"})

        for refused in (missing, wrong, basic):
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
            assert refused.json() == {
                "error": "GET /metrics needs `Authorization: Bearer <ONTOLOGY_METRICS_TOKEN>`."
            }
            assert "ontology_" not in refused.text
        assert (right.status_code, lower.status_code) == (200, 200)
        assert "ontology_graphql_requests" in right.text


async def test_metrics_are_gzipped_for_scrapers_that_accept_it(settings: Settings) -> None:
    async with api_with(settings, metrics_token=SecretStr("tok")) as api:
        await api.post(None, VIEWER)
        headers = {"Authorization": "Bearer tok", "Accept-Encoding": "gzip"}
        async with api.client.stream("GET", "/metrics", headers=headers) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        plain = await api.client.get(
            "/metrics", headers={"Authorization": "Bearer tok", "Accept-Encoding": "identity"}
        )
        refused = await api.client.get("/metrics", headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = gzip.decompress(raw).decode()
    assert "ontology_graphql_requests_total" in text
    assert "content-encoding" not in plain.headers
    assert plain.text.splitlines()[0] == text.splitlines()[0]
    assert "ontology_graphql_requests_total" in plain.text
    assert refused.status_code == 401
    assert "content-encoding" not in refused.headers


async def test_openmetrics_is_served_to_scrapers_that_ask_for_it(settings: Settings) -> None:
    async with api_with(settings) as api:
        tenant = await make_tenant(api.runtime, "acme")
        await api.post(tenant.owner, VIEWER)
        response = await api.client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        text_names = {
            family.name
            for family in text_string_to_metric_families(api.runtime.metrics.render().decode())
            if not family.name.endswith("_created")  # the text parser's own families
        }

    assert response.status_code == 200
    assert response.headers["content-type"] == (
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    )
    assert response.text.endswith("# EOF\n")
    families = list(openmetrics_families(response.text))
    # every metric of the text format, under the same names
    assert {family.name for family in families} == text_names
    assert "ontology_graphql_requests" in text_names
    requests = [
        (s.labels, s.value)
        for f in families
        if f.name == "ontology_graphql_requests"
        for s in f.samples
        if s.name == "ontology_graphql_requests_total"
    ]
    assert requests == [({"operation": "Viewer", "outcome": "ok"}, 1.0)]
