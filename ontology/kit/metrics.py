"""Prometheus metrics: every metric object of the service, in one per-runtime registry.

Each ``Runtime`` owns one ``Metrics`` (its own ``CollectorRegistry``, so tests
and tools can build many apps in one process without "duplicated timeseries"
errors); ``GET /metrics`` renders it. This module imports nothing from the API
or the jobs: services and jobs receive the ``Metrics`` object and record into
it.

How a scheduled job uses it (one call per run, whatever the outcome)::

    started = time.perf_counter()
    outcome = "ok"
    try:
        moved = await archival.archive_group_events(...)
        metrics.events_archived.inc(moved.events)
        metrics.archived_bytes.inc(moved.bytes)
    except Exception:
        outcome = "error"
        raise
    finally:
        metrics.record_job_run("archive_events", outcome, time.perf_counter() - started)

and the scheduler, whenever it acquires, renews or loses the lease::

    metrics.set_lease_holder(holder_id if held else None)
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_asgi_app,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Operation names come from clients (``operationName`` or the document), so they
# are the one label a tenant chooses. The names of the trusted documents
# (``graphql/``, given by the app) always have their own label; any other
# well-formed name (a bounded charset and length) gets one only while fewer than
# MAX_OTHER_OPERATION_NAMES such names have been seen by this process, then
# ``other``. So a client can neither grow the number of series without bound nor
# crowd the trusted operations out of their labels. Every other label is a fixed
# set (outcomes, metrics, jobs, scopes, error codes) or this process's host:pid (the
# lease holder): no group id, key or error message is ever a label value, and a slug
# only in the bounded, replaced list of groups whose archival failed (see below).
MAX_OTHER_OPERATION_NAMES = 100
MAX_FAILED_GROUP_SERIES = 100
ANONYMOUS = "anonymous"
OTHER = "other"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
COMMAND_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


class Metrics:
    """The metric objects of one runtime, registered in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._trusted: frozenset[str] = frozenset()
        self._names: set[str] = set()
        self._names_lock = threading.Lock()

        # GraphQL operations (recorded by the API's cost extension).
        self.requests = Counter(
            "ontology_graphql_requests",
            "GraphQL operations by operation name and outcome (ok, rejected, error).",
            ["operation", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "ontology_graphql_request_duration_seconds",
            "Time to execute a GraphQL operation, by operation name and outcome.",
            ["operation", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.db_commands = Histogram(
            "ontology_graphql_db_commands",
            "MongoDB commands sent per GraphQL operation, by operation name.",
            ["operation"],
            buckets=COMMAND_BUCKETS,
            registry=registry,
        )

        # Requests refused for their rate (HTTP 429 RATE_LIMITED): by the key's or the
        # group's bucket. Scopes are a fixed set, never a key or group id.
        self.rate_limited = Counter(
            "ontology_rate_limited",
            "Requests refused for going over a rate or concurrency limit, by scope.",
            ["scope"],
            registry=registry,
        )

        # Quotas and batches (recorded by their services).
        self.quota_refusals = Counter(
            "ontology_quota_refusals",
            "Writes or operations refused by a quota, by metric.",
            ["metric"],
            registry=registry,
        )
        # Group commit (ontology.ledger.ledger): transactions that committed several single
        # writes of one group together, and those split because one of them failed.
        self.group_commits = Counter(
            "ontology_group_commits",
            "Transactions of several writes of one group: together (committed) or split.",
            ["outcome"],
            registry=registry,
        )
        self.group_commit_writes = Counter(
            "ontology_group_commit_writes",
            "Single writes committed in a transaction shared with others of their group.",
            registry=registry,
        )
        self.batch_items_written = Counter(
            "ontology_batch_items_written",
            "Items created or changed by batch mutations and imports, by batch operation.",
            ["operation"],
            registry=registry,
        )

        # Scheduled jobs and archival (recorded by the jobs; see the module docstring).
        self.job_runs = Counter(
            "ontology_job_runs",
            "Scheduled job runs by job and outcome.",
            ["job", "outcome"],
            registry=registry,
        )
        self.job_duration = Histogram(
            "ontology_job_duration_seconds",
            "Duration of scheduled job runs by job and outcome.",
            ["job", "outcome"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.events_archived = Counter(
            "ontology_events_archived",
            "Events moved from the hot store to the archive.",
            registry=registry,
        )
        self.archived_bytes = Counter(
            "ontology_archived_bytes",
            "Compressed bytes written to the archive.",
            registry=registry,
        )
        # The latest archival run over every group (and the runs it continues): the
        # groups that failed, one series each, labelled with the group's slug and the
        # RunErrorCode. The one exception to "no slug as a label": the series are
        # replaced at every such run and at most MAX_FAILED_GROUP_SERIES are listed
        # (``ontology_archival_failed_groups`` counts them all), so their number stays
        # bounded; slugs are chosen by operators (`ontology groups create`).
        self.archival_failed_group = Gauge(
            "ontology_archival_failed_group",
            "1 for each group whose archival failed in the latest run over every group "
            "(the run went on and ended partial), by group slug and error code.",
            ["group", "code"],
            registry=registry,
        )
        self.archival_failed_groups = Gauge(
            "ontology_archival_failed_groups",
            "Groups whose archival failed in the latest run over every group.",
            registry=registry,
        )
        self.archival_group_failures = Counter(
            "ontology_archival_group_failures",
            "Group archival runs that failed, by error code.",
            ["code"],
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "ontology_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retried, failed).",
            ["outcome"],
            registry=registry,
        )
        # The latest counter check (``ontology.jobs.counters``).
        self.counter_drift_groups = Gauge(
            "ontology_counter_drift_groups",
            "Groups whose stored counters differed from the recount in the latest check.",
            registry=registry,
        )
        self.counter_drifts = Gauge(
            "ontology_counter_drifts",
            "Counters that differed from the recount in the latest check (all groups).",
            registry=registry,
        )
        self.lease_holder = Gauge(
            "ontology_scheduler_lease_holder",
            "1 for the holder id while this process holds the scheduler lease.",
            ["holder"],
            registry=registry,
        )

    def trust_operations(self, names: Iterable[str]) -> None:
        """Operation names that always get their own label (the trusted documents')."""
        self._trusted = frozenset(name for name in names if _NAME.match(name))

    def operation_label(self, name: str | None) -> str:
        """The label value for a client-chosen operation name (bounded, see above)."""
        if name is None:
            return ANONYMOUS
        if name in self._trusted:
            return name
        if not _NAME.match(name):
            return OTHER
        with self._names_lock:
            if name in self._names:
                return name
            if len(self._names) >= MAX_OTHER_OPERATION_NAMES:
                return OTHER
            self._names.add(name)
            return name

    def record_operation(
        self, name: str | None, outcome: str, seconds: float, db_commands: int
    ) -> None:
        operation = self.operation_label(name)
        self.requests.labels(operation, outcome).inc()
        self.latency.labels(operation, outcome).observe(seconds)
        self.db_commands.labels(operation).observe(db_commands)

    def record_job_run(self, job: str, outcome: str, seconds: float) -> None:
        self.job_runs.labels(job, outcome).inc()
        self.job_duration.labels(job, outcome).observe(seconds)

    def record_archival_failures(
        self, new_codes: Iterable[str], failed: list[tuple[str, str]]
    ) -> None:
        """After an archival run over every group: ``new_codes``, the codes of the groups
        that failed in it; ``failed``, (slug, code) of every failed group it lists."""
        for code in new_codes:
            self.archival_group_failures.labels(code).inc()
        self.set_archival_failed_groups(failed)

    def set_archival_failed_groups(self, failed: list[tuple[str, str]]) -> None:
        """(slug, code) of each group the latest archival run over every group lists as
        failed (also refreshed from ``job_runs`` at each scrape of /metrics)."""
        self.archival_failed_groups.set(len(failed))
        self.archival_failed_group.clear()
        for slug, code in failed[:MAX_FAILED_GROUP_SERIES]:
            self.archival_failed_group.labels(slug, code).set(1)

    def set_counter_drift(self, groups: int, drifts: int) -> None:
        self.counter_drift_groups.set(groups)
        self.counter_drifts.set(drifts)

    def set_lease_holder(self, holder: str | None) -> None:
        """This process holds the scheduler lease as ``holder`` (None: it holds none)."""
        self.lease_holder.clear()
        if holder is not None:
            self.lease_holder.labels(holder).set(1)

    @functools.cached_property
    def asgi_app(self) -> Any:
        """prometheus-client's ASGI app over this registry (``GET /metrics``)."""
        return make_asgi_app(self.registry)

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
