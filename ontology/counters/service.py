"""Check and repair a group's denormalized counters against what is stored.

What is recounted, from the collections (``recount``):

* the group's ``counts``: things (by type and by status), connections (by type),
  ``inboundByType`` (inbound connections of live things by the things' type; left
  alone on a group stored before it existed: the engagement ledger recounts that
  on its first read), events, people, knowledge, storage bytes;
* every live thing's ``connectionCounts`` (inbound, outbound, by type and direction)
  and its ``newestConnection`` keys;
* the group's ``newest``/``oldest`` keys of its lists (things, connections, events,
  people, and each by type). These are hints that only ever need to bound the
  keys (``ontology.db.windows``): a stored newest key above the true one (the
  newest thing was deleted) is fine, below it is a drift (a first page would
  miss the newest items); likewise an oldest key above the true oldest.

* the group's time-bucketed metric counters (``counters``: events, events by type,
  revenue and payments of each minute, hour, day and month bucket) that still exist
  and start after the group's archival cutoff (now minus its
  ``events_retention_days``): older buckets may count events archival has moved
  out, so the hot events are not their truth; distinct actors (a set, only ever
  added to) and the things' running totals (they outlive archived events) are not
  checked.

How a recount stays bounded: every collection is read through one cursor per
collection with a ``batch_size`` (``CounterCheckRepository``), things in batches
with their connections looked up by ``$in`` of the batch's ids on the
``connections_from``/``connections_to`` indexes; memory holds one batch and the
per-type maps. No ``count_documents``.

Why a repair loses no concurrent write. Every write that changes a counter
updates the group document (its ``counts``, at least ``counts.events`` and
``counts.storageBytes`` for the event it logs) in the same transaction as the
documents it counts. A repair is one snapshot transaction that

1. first writes the group document (``countsCheckedAt``): from then until it
   commits, a concurrent transaction writing the same group gets a write
   conflict (mongod) or waits (the embedded server) and is retried by the
   driver after the repair commits; in this process writes of the group also
   queue on the group's lock (``Database.in_transaction(serialize_on=...)``);
2. reads the stored counters and recounts the collections, all in the
   transaction's snapshot, so stored and true values are of the same instant;
3. applies each drift as ``$inc`` of (true - stored) (``$max``/``$min`` for keys).

A write that committed before the repair's snapshot is in both the stored and
the true values; one that commits after the repair is applied on top of the
repaired value (it retried against the new document) and counted by its own
``$inc``; none can commit between 1 and 3 (it would have written the group
document, which the repair holds, or the repair's own write in 1 would have
conflicted and the whole repair been retried). The ``$inc`` of a difference
rather than a ``$set`` keeps that true even for a writer outside a transaction
(none exists today). A check without ``--repair`` runs the same recount in a
read-only snapshot transaction: its report is exact for that instant and it
blocks no writer.

Counts reserved ahead by a batch (``Ledger.write_reserved``) are in the stored
counters before its data is written: the recount adds the group's pending
reservations (``ledger_reservations``, read in the same snapshot) to the truth,
and the events it added to the group's time buckets to theirs, so a check during a
batch reports no drift and a repair takes nothing back from it.

Writes committed together are in the collections before they are in the group's
counters: their process's counter shard (``ledger_shards``) holds their counts and
buckets until it is folded (``ontology.ledger.shards``). The recount reads the
group's shards in the same snapshot and counts them as stored (it takes them out of
the truth the group document is compared with, and their list keys count as the
group's), so a check while shards are unfolded reports no drift, and a repair leaves
the shards to their fold. A write committed on a shard after the repair's snapshot
is in neither the snapshot's collections nor its shards.

Limit: one group's recount runs in one transaction, and mongod ends
transactions after ``transactionLifetimeLimitSeconds`` (60 s by default); a
group too large to recount in that time needs that limit raised for the run.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.counters.repository import CounterCheckRepository
from ontology.db.client import Database, Document
from ontology.kit.clock import utcnow
from ontology.kit.paths import flatten
from ontology.ledger.buckets import COUNTER_RETENTION, BucketDelta, Period, counter_deltas
from ontology.ledger.events import EventDocument
from ontology.ledger.plans import Metric, PlanBook
from ontology.ledger.shards import folded

log = logging.getLogger(__name__)

SCALARS = ("things", "connections", "events", "people", "knowledge", "storageBytes")
MAPS = ("thingsByType", "thingsByStatus", "connectionsByType", "inboundByType")
# lists whose newest/oldest keys the writes keep (``CountDelta.saw``)
KEYED_LISTS = ("things", "connections", "events", "people")

# called with the number of documents each batch read
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Drift:
    """One counter whose stored value is not the truth."""

    what: str  # "counts.thingsByType.creator", "thing <id> connectionCounts.inbound", …
    stored: Any
    true: Any

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "stored": _plain(self.stored), "true": _plain(self.true)}


@dataclass
class GroupCheck:
    group_id: ObjectId
    slug: str
    drifts: list[Drift] = field(default_factory=list)
    repaired: bool = False
    documents: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.slug,
            "groupId": str(self.group_id),
            "documents": self.documents,
            "repaired": self.repaired,
            "drifts": [d.to_json() for d in self.drifts],
        }


@dataclass
class Recount:
    """The truth of one group, recounted from its collections."""

    counts: dict[str, Any] = field(default_factory=dict)
    newest: dict[str, Any] = field(default_factory=dict)  # "things", "thingsByType.x", …
    oldest: dict[str, Any] = field(default_factory=dict)
    # per live thing: (thing id, field, stored, true, operator "$inc" | "$max")
    things: list[tuple[ObjectId, str, Any, Any, str]] = field(default_factory=list)
    # the group's metric buckets by (period, start): what its hot events add up to
    buckets: dict[tuple[str, datetime], BucketDelta] = field(default_factory=dict)
    documents: int = 0
    # the group's counter shards, read in the same snapshot
    shards: list[Document] = field(default_factory=list)

    def saw(self, name: str, key: Any) -> None:
        if name not in self.newest or key > self.newest[name]:
            self.newest[name] = key
        if name not in self.oldest or key < self.oldest[name]:
            self.oldest[name] = key


async def recount(
    repo: CounterCheckRepository,
    group_id: ObjectId,
    session: AsyncClientSession,
    batch_size: int,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Recount:
    """Recount every counter of the group, as ``session``'s snapshot sees the data (and
    the metric buckets as of ``now``, when given)."""
    truth = Recount()
    scalars: dict[str, int] = dict.fromkeys(SCALARS, 0)
    maps: dict[str, dict[str, int]] = {name: defaultdict(int) for name in MAPS}

    def advance(n: int) -> None:
        truth.documents += n
        if progress is not None:
            progress(n)

    async for batch in repo.live_things(group_id, batch_size, session):
        for doc in batch:
            scalars["things"] += 1
            scalars["storageBytes"] += int(doc.get("sizeBytes", 0))
            maps["thingsByType"][doc["type"]] += 1
            maps["thingsByStatus"][doc["status"]] += 1
            truth.saw("things", doc["_id"])
            truth.saw(f"thingsByType.{doc['type']}", doc["_id"])
        await _recount_connections_of(repo, group_id, batch, session, truth, maps["inboundByType"])
        advance(len(batch))

    pending = 0
    async for doc in repo.stream("connections", group_id, batch_size, session):
        scalars["connections"] += 1
        scalars["storageBytes"] += int(doc.get("sizeBytes", 0))
        maps["connectionsByType"][doc["type"]] += 1
        truth.saw("connections", doc["_id"])
        truth.saw(f"connectionsByType.{doc['type']}", doc["_id"])
        pending += 1
        if pending == batch_size:
            advance(pending)
            pending = 0
    async for doc in repo.stream("events", group_id, batch_size, session):
        if now is not None:
            event = cast(EventDocument, doc)  # streamed from the events collection
            for (thing_id, period, start), add in counter_deltas([event], now).items():
                if thing_id is None and start is not None:
                    truth.buckets.setdefault((period.value, start), BucketDelta()).merge(add)
        scalars["events"] += 1
        scalars["storageBytes"] += int(doc.get("sizeBytes", 0))
        truth.saw("events", doc["sortKey"])
        truth.saw(f"eventsByType.{doc['type']}", doc["sortKey"])
        pending += 1
        if pending == batch_size:
            advance(pending)
            pending = 0
    for name in ("knowledge", "thing_knowledge"):
        async for doc in repo.stream(name, group_id, batch_size, session):
            if name == "knowledge":
                scalars["knowledge"] += 1
            scalars["storageBytes"] += int(doc.get("sizeBytes", 0))
            pending += 1
    async for doc in repo.stream("people", group_id, batch_size, session):
        scalars["people"] += 1
        truth.saw("people", doc["_id"])
        pending += 1
    advance(pending)
    # Counts reserved by a batch whose data has not committed yet are in the stored
    # counters already (the reservation's transaction applied them) and not yet in the
    # collections: they are part of the truth until the data commits or the reservation
    # is released, both of which delete the reservation record in the same transaction.
    # So are the events it added to the group's time buckets.
    for reservation in await repo.reserved(group_id, session):
        for bucket in reservation.get("buckets") or []:
            reserved = truth.buckets.setdefault((bucket["period"], bucket["start"]), BucketDelta())
            for name, amount in bucket["inc"]:
                if name in ("events", "payments", "revenue"):
                    setattr(reserved, name, getattr(reserved, name) + amount)
                elif name.startswith("byType."):
                    kind = name.removeprefix("byType.")
                    reserved.by_type[kind] = reserved.by_type.get(kind, 0) + amount
        for path, amount in (reservation.get("fields") or {}).items():
            _add_count(scalars, maps, path, amount)
    # Counted on a process's shard and not folded yet: in the collections, not in the
    # group's counters and buckets yet (``ontology.ledger.shards``). Left out of the truth
    # the group is compared with; its list keys count as stored (``compare``).
    for shard in await repo.shards(group_id, session):
        delta, buckets = folded(shard)
        for path, amount in delta.fields.items():
            _add_count(scalars, maps, path, -amount)
        for (_, period, start), unfolded in buckets.items():
            assert start is not None  # the group's buckets
            stored = truth.buckets.setdefault((period.value, start), BucketDelta())
            stored.merge(unfolded.negated())
        truth.shards.append(shard)
    truth.counts = {
        **scalars,
        **{name: {k: v for k, v in m.items() if v} for name, m in maps.items()},
    }
    return truth


def _add_count(
    scalars: dict[str, int], maps: dict[str, dict[str, int]], path: str, amount: int
) -> None:
    """Add ``amount`` to the recounted counter at ``path`` ("counts.things", …)."""
    parts = path.split(".")
    if parts[0] != "counts" or len(parts) < 2:
        return
    if len(parts) == 2 and parts[1] in scalars:
        scalars[parts[1]] += amount
    elif len(parts) == 3 and parts[1] in maps:
        maps[parts[1]][parts[2]] += amount


async def _recount_connections_of(
    repo: CounterCheckRepository,
    group_id: ObjectId,
    batch: list[Document],
    session: AsyncClientSession,
    truth: Recount,
    inbound_by_type: dict[str, int],
) -> None:
    """Compare each thing of ``batch``'s connection counters with its connections."""
    ids = [doc["_id"] for doc in batch]
    counts: dict[ObjectId, dict[str, int]] = {i: defaultdict(int) for i in ids}
    newest: dict[ObjectId, dict[str, ObjectId]] = {i: {} for i in ids}
    for end, direction in (("fromId", "outbound"), ("toId", "inbound")):
        for connection in await repo.connections_at(group_id, end, ids, session):
            thing_id = connection[end]
            kind = connection["type"]
            counts[thing_id][direction] += 1
            counts[thing_id][f"byType.{kind}.{direction}"] += 1
            keys = newest[thing_id]
            for name in (direction, f"byType.{kind}.{direction}"):
                if name not in keys or connection["_id"] > keys[name]:
                    keys[name] = connection["_id"]
    for doc in batch:
        thing_id = doc["_id"]
        true = counts[thing_id]
        inbound_by_type[doc["type"]] += true["inbound"]
        stored = flatten(doc.get("connectionCounts") or {})
        for name in sorted(set(stored) | set(true) | {"inbound", "outbound"}):
            have, want = int(stored.get(name, 0) or 0), true.get(name, 0)
            if have != want:
                truth.things.append((thing_id, f"connectionCounts.{name}", have, want, "$inc"))
        stored_keys = flatten(doc.get("newestConnection") or {})
        for name, key in sorted(newest[thing_id].items()):
            have_key = stored_keys.get(name)
            if have_key is None or have_key < key:
                truth.things.append((thing_id, f"newestConnection.{name}", have_key, key, "$max"))


def compare(group: Document, truth: Recount) -> tuple[list[Drift], dict[str, Any]]:
    """The drifts of the group document's counters from ``truth``, and the update fixing
    them (``$inc`` of the differences, ``$max``/``$min`` of the keys)."""
    stored = group.get("counts") or {}
    drifts: list[Drift] = []
    inc: dict[str, int] = {}
    for name in SCALARS:
        have, want = int(stored.get(name, 0) or 0), truth.counts[name]
        if have != want:
            drifts.append(Drift(f"counts.{name}", have, want))
            inc[f"counts.{name}"] = want - have
    for name in MAPS:
        if name == "inboundByType" and name not in stored:
            continue  # recounted by the engagement ledger on the group's first read
        have_map = stored.get(name) or {}
        want_map = truth.counts[name]
        for key in sorted(set(have_map) | set(want_map)):
            have, want = int(have_map.get(key, 0) or 0), want_map.get(key, 0)
            if have != want:
                drifts.append(Drift(f"counts.{name}.{key}", have, want))
                inc[f"counts.{name}.{key}"] = want - have
    newest_stored = flatten(group.get("newest") or {})
    oldest_stored = flatten(group.get("oldest") or {})
    for shard in truth.shards:  # keys a process's shard holds until it is folded
        for name, key in flatten(shard.get("newest") or {}).items():
            if name not in newest_stored or key > newest_stored[name]:
                newest_stored[name] = key
        for name, key in flatten(shard.get("oldest") or {}).items():
            if name not in oldest_stored or key < oldest_stored[name]:
                oldest_stored[name] = key
    raise_to: dict[str, Any] = {}
    lower_to: dict[str, Any] = {}
    for name, key in sorted(truth.newest.items()):
        if name.split(".")[0].removesuffix("ByType") not in KEYED_LISTS:
            continue
        high = newest_stored.get(name)
        if high is None or high < key:
            drifts.append(Drift(f"newest.{name}", high, key))
            raise_to[f"newest.{name}"] = key
        low = oldest_stored.get(name)
        if low is None or low > truth.oldest[name]:
            drifts.append(Drift(f"oldest.{name}", low, truth.oldest[name]))
            lower_to[f"oldest.{name}"] = truth.oldest[name]
    # what processes leased is what their shards were granted (both change together)
    granted: dict[str, int] = defaultdict(int)
    for shard in truth.shards:
        for name, amount in (shard.get("granted") or {}).items():
            granted[name] += int(amount)
    leased = group.get("leased") or {}
    for name in sorted(set(leased) | set(granted)):
        have, want = int(leased.get(name, 0) or 0), granted.get(name, 0)
        if have != want:
            drifts.append(Drift(f"leased.{name}", have, want))
            inc[f"leased.{name}"] = want - have
    update: dict[str, Any] = {}
    if inc:
        update["$inc"] = inc
    if raise_to:
        update["$max"] = raise_to
    if lower_to:
        update["$min"] = lower_to
    return drifts, update


def bucket_corrections(
    stored: list[Document], truth: Recount, now: datetime
) -> tuple[list[Drift], dict[ObjectId, dict[str, Any]]]:
    """The drifts of the stored buckets from what the hot events add up to, and the
    ``$inc`` of each bucket fixing them (a bucket past its retention, which the TTL
    monitor has not removed yet, is left out: no event adds to it any more)."""
    drifts: list[Drift] = []
    updates: dict[ObjectId, dict[str, Any]] = {}
    for doc in sorted(stored, key=lambda d: (d["period"], d["start"])):
        if doc["start"] + COUNTER_RETENTION[Period(doc["period"])] <= now:
            continue
        want = truth.buckets.get((doc["period"], doc["start"])) or BucketDelta()
        name = f"bucket {doc['period']} {doc['start'].isoformat()}"
        inc: dict[str, Any] = {}
        pairs: list[tuple[str, Any, Any]] = [
            ("events", int(doc.get("events", 0)), want.events),
            ("payments", int(doc.get("payments", 0)), want.payments),
        ]
        have_types = doc.get("byType") or {}
        for kind in sorted(set(have_types) | set(want.by_type)):
            pairs.append(
                (f"byType.{kind}", int(have_types.get(kind, 0)), want.by_type.get(kind, 0))
            )
        for key, have, true in pairs:
            if have != true:
                drifts.append(Drift(f"{name} {key}", have, true))
                inc[key] = true - have
        revenue = float(doc.get("revenue", 0.0))
        if not math.isclose(revenue, want.revenue, rel_tol=1e-9, abs_tol=1e-6):
            drifts.append(Drift(f"{name} revenue", revenue, want.revenue))
            inc["revenue"] = want.revenue - revenue
        if inc:
            updates[doc["_id"]] = {"$inc": inc}
    return drifts, updates


def thing_corrections(
    truth: Recount,
) -> tuple[list[Drift], dict[ObjectId, dict[str, Any]]]:
    drifts: list[Drift] = []
    updates: dict[ObjectId, dict[str, Any]] = {}
    for thing_id, name, have, want, operator in truth.things:
        drifts.append(Drift(f"thing {thing_id} {name}", have, want))
        ops = updates.setdefault(thing_id, {}).setdefault(operator, {})
        ops[name] = want - have if operator == "$inc" else want
    return drifts, updates


class CounterCheckService:
    def __init__(
        self,
        database: Database,
        repo: CounterCheckRepository,
        book: PlanBook,
        batch_size: int = 1000,
    ) -> None:
        self.database = database
        self.repo = repo
        self.book = book
        self.batch_size = batch_size

    async def true_counts(self, group_id: ObjectId) -> dict[str, Any]:
        """The group's counters as they must read (zero entries of the maps left out)."""

        async def work(session: AsyncClientSession) -> dict[str, Any]:
            truth = await recount(self.repo, group_id, session, self.batch_size)
            return truth.counts

        return await self.database.in_transaction(work)

    async def check_group(
        self,
        group_id: ObjectId,
        *,
        repair: bool = False,
        progress: Progress | None = None,
    ) -> GroupCheck:
        """Recount one group in one snapshot transaction; with ``repair``, correct every
        drift in it (see the module docstring for why no concurrent write is lost)."""

        async def work(session: AsyncClientSession) -> GroupCheck:
            if repair:
                await self.repo.claim(group_id, utcnow(), session)
            group = await self.repo.group(group_id, session)
            if group is None:
                return GroupCheck(group_id, "")
            now = utcnow()
            truth = await recount(self.repo, group_id, session, self.batch_size, progress, now)
            drifts, update = compare(group, truth)
            thing_drifts, thing_updates = thing_corrections(truth)
            days = self.book.limit(group, Metric.EVENTS_RETENTION_DAYS)
            since = now - timedelta(days=days) if days is not None else None
            stored_buckets = await self.repo.group_buckets(group_id, since, session)
            bucket_drifts, bucket_updates = bucket_corrections(stored_buckets, truth, now)
            check = GroupCheck(group_id, group["slug"], drifts + thing_drifts + bucket_drifts)
            check.documents = truth.documents
            if repair and check.drifts:
                await self.repo.correct_group(group_id, update, session)
                await self.repo.correct_things(group_id, thing_updates, session)
                await self.repo.correct_buckets(bucket_updates, session)
                check.repaired = True
            return check

        if repair:
            return await self.database.in_transaction(work, serialize_on=group_id)
        return await self.database.in_transaction(work)

    async def check(
        self,
        slug: str | None = None,
        *,
        repair: bool = False,
        progress: Progress | None = None,
        on_group: Callable[[str], None] | None = None,
    ) -> list[GroupCheck]:
        """Check every group (or the one with ``slug``), one after the other."""
        results = []
        async for group in self.repo.group_ids(slug):
            if on_group is not None:
                on_group(group["slug"])
            result = await self.check_group(group["_id"], repair=repair, progress=progress)
            if result.drifts:
                log.warning(
                    "counter drift",
                    extra={
                        "group": result.slug,
                        "drifts": len(result.drifts),
                        "repaired": result.repaired,
                        "first": [d.to_json() for d in result.drifts[:5]],
                    },
                )
            results.append(result)
        return results


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, ObjectId) else value
