"""The index registry: every index the application relies on, declared once.

Indexes are created at start-up (``ensure_indexes``) and a test compares this
registry with ``index_information()`` on the server. Every compound index on
tenant data starts with ``groupId`` (the isolation and the shard-key rule), and
every list query has an index whose last field is its keyset sort key, so a
page is one bounded index range.

Things carry ``deletedAt`` (null while live) right after ``groupId``: reads ask
for ``deletedAt: null``, an equality on the index, so soft-deleted things never
widen a live range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo import IndexModel

from ontology.db.client import Database


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    name: str
    keys: tuple[tuple[str, int], ...]
    unique: bool = False
    expire_after_seconds: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def model(self) -> IndexModel:
        kwargs: dict[str, Any] = {"name": self.name, **self.options}
        if self.unique:
            kwargs["unique"] = True
        if self.expire_after_seconds is not None:
            kwargs["expireAfterSeconds"] = self.expire_after_seconds
        return IndexModel(list(self.keys), **kwargs)


def _ix(collection: str, name: str, *keys: str, unique: bool = False) -> IndexSpec:
    return IndexSpec(collection, name, tuple((key, 1) for key in keys), unique=unique)


INDEXES: tuple[IndexSpec, ...] = (
    # groups and keys: looked up by slug and by key hash before the tenant is known.
    _ix("groups", "groups_slug", "slug", unique=True),
    # the staff overview (``GroupRepository.list_spec``): by usage (usageKey =
    # "<usage ppm>:<_id>", a status is a range of it) or by slug, each with a plan
    # filter, and by slug within a stored quota status
    _ix("groups", "groups_usage", "usageKey"),
    _ix("groups", "groups_plan_usage", "plan", "usageKey"),
    _ix("groups", "groups_plan_slug", "plan", "slug"),
    _ix("groups", "groups_status_slug", "quotaStatus", "slug"),
    _ix("groups", "groups_plan_status_slug", "plan", "quotaStatus", "slug"),
    _ix("api_keys", "api_keys_hash", "keyHash", unique=True),
    _ix("api_keys", "api_keys_group", "groupId", "_id"),
    # people
    _ix("people", "people_group", "groupId", "_id"),
    # Named after people_group on purpose: the embedded server breaks ties between
    # indexes that lead with the same field by name.
    _ix("people", "people_unique_email", "groupId", "email", unique=True),
    _ix("people", "people_role", "groupId", "role", "_id"),
    # things
    # version last: a versioned update's filter (groupId, deletedAt, _id, version) is an
    # equality on all four, which the embedded server serves only from an index
    # holding all of them; the prefix serves every lookup by id.
    _ix("things", "things_live", "groupId", "deletedAt", "_id", "version"),
    _ix("things", "things_type", "groupId", "deletedAt", "type", "_id"),
    _ix("things", "things_status", "groupId", "deletedAt", "status", "_id"),
    _ix("things", "things_type_status", "groupId", "deletedAt", "type", "status", "_id"),
    # connections
    _ix("connections", "connections_unique", "groupId", "fromId", "toId", "type", unique=True),
    _ix("connections", "connections_group", "groupId", "_id"),
    _ix("connections", "connections_group_type", "groupId", "type", "_id"),
    _ix("connections", "connections_from", "groupId", "fromId", "_id"),
    _ix("connections", "connections_to", "groupId", "toId", "_id"),
    # type before the end: the embedded server needs the equality fields first
    # when the end is an $in (a page of things' connections of one type)
    _ix("connections", "connections_from_type", "groupId", "type", "fromId", "_id"),
    _ix("connections", "connections_to_type", "groupId", "type", "toId", "_id"),
    # looked up by ``find_by_keys`` (a ``$lookup``): see LOOKUP_KEYS
    _ix("connections", "connections_from_lookup", "fromId", "_id"),
    # events: sortKey = "<timestamp ms, zero-padded>:<_id hex>", unique and time-ordered
    # a group's events by time; also archival's range of events older than a cutoff
    _ix("events", "events_group", "groupId", "sortKey"),
    _ix("events", "events_type", "groupId", "type", "sortKey"),
    _ix("events", "events_actor", "groupId", "actorId", "sortKey"),
    _ix("events", "events_target", "groupId", "targetId", "sortKey"),
    # lookups by id (the embedded server plans {groupId, _id} as a scan without it)
    _ix("events", "events_id", "groupId", "_id"),
    # archival manifests: keys sort by day, run and sequence; pending ones are resumed
    _ix("archive_manifests", "archive_manifests_key", "groupId", "key", unique=True),
    _ix("archive_manifests", "archive_manifests_status", "groupId", "status", "_id"),
    _ix("archival_progress", "archival_progress_group", "groupId", unique=True),
    # job runs: a group's latest runs of a job; queued runs picked up oldest first
    _ix("job_runs", "job_runs_group", "groupId", "job", "queuedAt", "_id"),
    _ix("job_runs", "job_runs_status", "status", "_id"),
    # counts reserved by long writes until their data commits (ontology.ledger.reservations)
    _ix("ledger_reservations", "ledger_reservations_expiry", "expiresAt"),
    # a group's pending reservations, which a counter recount adds to the truth
    _ix("ledger_reservations", "ledger_reservations_group", "groupId", "_id"),
    # counter shards of processes that stopped, folded by the others (ontology.ledger.shards)
    _ix("ledger_shards", "ledger_shards_stale", "beatAt"),
    # a group's shards, which a counter recount counts as stored
    _ix("ledger_shards", "ledger_shards_group", "groupId", "_id"),
    # idempotency keys of batch mutations, kept 24 hours
    _ix("idempotency_keys", "idempotency_keys_unique", "groupId", "key", unique=True),
    IndexSpec(
        "idempotency_keys", "idempotency_keys_expiry", (("expiresAt", 1),), expire_after_seconds=0
    ),
    # usage: one counter per (group, metric, period); old periods expire
    _ix("usage", "usage_period", "groupId", "metric", "periodStart", unique=True),
    IndexSpec("usage", "usage_expiry", (("expiresAt", 1),), expire_after_seconds=0),
    _ix("quota_event_marks", "quota_event_marks_once", "groupId", "metric", "bucket", unique=True),
    IndexSpec(
        "quota_event_marks", "quota_event_marks_expiry", (("expiresAt", 1),), expire_after_seconds=0
    ),
    # metrics: counters keyed by (group, thing or null, period, bucket start), and
    # snapshots by (group, period, start); both expire through TTL indexes
    _ix("counters", "counters_key", "groupId", "thingId", "period", "start", unique=True),
    _ix("counters", "counters_thing_lookup", "thingId", "period"),
    IndexSpec("counters", "counters_expiry", (("expiresAt", 1),), expire_after_seconds=0),
    _ix("metric_snapshots", "metric_snapshots_key", "groupId", "period", "start", unique=True),
    IndexSpec(
        "metric_snapshots", "metric_snapshots_expiry", (("expiresAt", 1),), expire_after_seconds=0
    ),
    # webhooks of a group, and their deliveries (the outbox): a group's list by id, and
    # the worker's due ones (any group) by status then due time
    _ix("webhooks", "webhooks_group", "groupId", "_id"),
    _ix("webhook_deliveries", "webhook_deliveries_group", "groupId", "_id"),
    _ix("webhook_deliveries", "webhook_deliveries_due", "status", "nextAttemptAt"),
    # knowledge
    _ix("knowledge", "knowledge_group", "groupId", "_id"),
    _ix("knowledge", "knowledge_kind", "groupId", "kind", "_id"),
    _ix("thing_knowledge", "thing_knowledge_thing", "groupId", "thingId", "_id"),
    _ix(
        "thing_knowledge",
        "thing_knowledge_unique",
        "groupId",
        "thingId",
        "knowledgeId",
        "role",
        unique=True,
    ),
)


def indexes_by_collection() -> dict[str, list[IndexSpec]]:
    grouped: dict[str, list[IndexSpec]] = {}
    for spec in INDEXES:
        grouped.setdefault(spec.collection, []).append(spec)
    return grouped


# Indexes an earlier version created and nothing uses any more: dropped at start-up,
# so every write stops paying for them. (collection, name)
RETIRED_INDEXES: tuple[tuple[str, str], ...] = (
    # archival ranges over events_group's sortKey, which orders by (timestamp, _id)
    ("events", "events_group_timestamp"),
)


async def ensure_indexes(database: Database) -> None:
    """Create every registered index (a no-op for those that already exist) and drop the
    retired ones that are still there."""
    for collection, specs in indexes_by_collection().items():
        await database.collection(collection).create_indexes([spec.model() for spec in specs])
    for collection, name in RETIRED_INDEXES:
        existing = await database.collection(collection).index_information()
        if name in existing:
            await database.collection(collection).drop_index(name)


# The fields ``find_by_keys`` joins on, by collection. The embedded server drives
# a ``$lookup`` through an index only when the index *starts* with the joined
# field (otherwise it reads the whole collection, every tenant's documents, for
# each call), so each has one; the tenant scope is applied to what it finds.
LOOKUP_KEYS: dict[str, tuple[str, ...]] = {
    "things": ("_id",),
    "connections": ("_id", "fromId"),
    "events": ("_id",),
    "people": ("_id",),
    "knowledge": ("_id",),
    "counters": ("thingId",),
    "usage": ("groupId",),
    "job_runs": ("groupId",),
}
