"""The only code that touches ``ledger_shards``: what one API process has counted for a
group and not yet folded into the group document, and the quota it leased from it.

Concurrent single writes of a group are committed together (group commit,
``ontology.ledger.ledger``). When two API processes do that, each transaction used to
update the group document and the group's time buckets, so the processes' transactions
conflicted on them and ran one at a time. Now a transaction of several writes (and,
for ``CONTENDED_SECONDS`` after a transaction of the group had to be retried, a single
write too) updates its process's shard instead, one document no other process writes::

    {_id, groupId, beatAt,
     counts:  {events: 8, storageBytes: 2310, eventsByType: {view: 8}, …},   # as ``counts``
     newest:  {events: "<sortKey>", …}, oldest: {…},                         # as the group's
     buckets: {"minute@1764660600": {events, byType, revenue, payments, actors}, …},
     lease:   {storageBytes: 126000},      # leased room not spent yet
     granted: {storageBytes: 131072}}      # leased room since the last fold

- **Quotas stay exact at once.** A write that grows an enforced counter spends room
  its process leased from the group document beforehand (``leased.<counter>`` there,
  which every reservation counts as used: ``reservation.within_limit``). The spend is
  a condition of the shard's update (``lease.<counter> >= n``), in the write's
  transaction; a lease is granted only while it is at most 1/``LEASE_SHARE`` of the
  group's room, so near a limit every write goes to the group document itself.
- **Counters, list keys and time buckets are exact within a fold.** Each process
  folds its shard into the group document and the shared buckets, and returns its
  unspent lease, at most ``fold_seconds`` after a write went to the shard (a second
  by default), in one transaction; a process that stopped is folded by any other
  within ``STALE`` (``Ledger.release_expired``). Until then the group's counters
  lag by what the shard holds: ``ontology counters check`` counts shards as stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.kit.paths import flatten
from ontology.ledger.buckets import BucketDelta, CounterKey, Period
from ontology.ledger.counters import CountDelta
from ontology.ledger.plans import LEASED_OF_COUNTER

# A lease is room for this many transactions like the one that asked for it ...
LEASE_BATCHES = 64
# ... granted only while it is at most this share of the group's room.
LEASE_SHARE = 64
# A shard not written for this long belongs to a process that stopped: any process folds it.
STALE = timedelta(seconds=60)
# what a fold takes from a shard
HELD = ("counts", "newest", "oldest", "buckets", "lease", "granted")


def lease_field(counter: str) -> str:
    """Where a shard keeps its lease of the enforced counter ``counter`` ("counts.x")."""
    return "lease." + counter.removeprefix("counts.")


def bucket_name(period: Period, start: datetime) -> str:
    return f"{period.value}@{int(start.timestamp())}"


class ShardRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("ledger_shards")

    async def grant(
        self,
        shard_id: ObjectId,
        group_id: ObjectId,
        leases: Mapping[str, int],
        now: datetime,
        session: AsyncClientSession,
    ) -> None:
        """Add ``leases`` (enforced counter -> room) to the shard, creating it."""
        inc: dict[str, int] = {}
        for counter, amount in leases.items():
            inc[lease_field(counter)] = amount
            inc["granted." + counter.removeprefix("counts.")] = amount
        await self.collection.update_one(
            {"_id": shard_id, "groupId": group_id},
            {"$inc": inc, "$set": {"beatAt": now}},
            upsert=True,
            session=session,
        )

    async def spend(
        self,
        shard_id: ObjectId,
        group_id: ObjectId,
        delta: CountDelta,
        spent: Mapping[str, int],
        buckets: Mapping[CounterKey, BucketDelta],
        now: datetime,
        session: AsyncClientSession,
    ) -> dict[str, int] | None:
        """Add ``delta`` and the group's time ``buckets`` to the shard, paying ``spent``
        (enforced counter -> room) from its lease; the lease left, or None when the shard
        does not hold that much (it was folded meanwhile) and nothing was written."""
        query: dict[str, Any] = {"_id": shard_id, "groupId": group_id}
        inc: dict[str, Any] = dict(delta.fields)
        for counter, amount in spent.items():
            query[lease_field(counter)] = {"$gte": amount}
            inc[lease_field(counter)] = -amount
        update: dict[str, Any] = {"$set": {"beatAt": now}}
        add_to_set: dict[str, Any] = {}
        for (_, period, start), bucket in buckets.items():
            assert start is not None  # the group's buckets, not an actor's totals
            name = bucket_name(period, start)
            for operator, changes in bucket.update().items():
                for path, value in changes.items():
                    target = inc if operator == "$inc" else add_to_set
                    target[f"buckets.{name}.{path}"] = value
        if inc:
            update["$inc"] = inc
        if add_to_set:
            update["$addToSet"] = add_to_set
        if delta.newest:
            update["$max"] = delta.newest
            update["$min"] = delta.oldest
        doc = await self.collection.find_one_and_update(
            query,
            update,
            projection={"lease": 1},
            upsert=not spent,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if doc is None:
            return None
        return {f"counts.{name}": int(n) for name, n in (doc.get("lease") or {}).items()}

    async def take(
        self, shard_id: ObjectId, group_id: ObjectId, session: AsyncClientSession
    ) -> Document | None:
        """Empty the shard, in the folding transaction; what it held."""
        return await self.collection.find_one_and_update(
            {"_id": shard_id, "groupId": group_id},
            {"$unset": dict.fromkeys(HELD, "")},
            session=session,
        )

    async def take_stale(self, before: datetime, session: AsyncClientSession) -> Document | None:
        """Remove a shard last written before ``before`` (its process stopped), in the
        folding transaction; what it held."""
        return await self.collection.find_one_and_delete(
            {"beatAt": {"$lt": before}}, sort=[("beatAt", 1)], session=session
        )


def folded(shard: Document) -> tuple[CountDelta, dict[CounterKey, BucketDelta]]:
    """What folding ``shard`` adds to its group: the counters, list keys and returned
    leases (``leased.<counter>`` less what the shard was granted), and its time buckets."""
    delta = CountDelta()
    for path, amount in flatten(shard.get("counts") or {}, "counts").items():
        delta.add_field(path, int(amount))
    for name, amount in (shard.get("granted") or {}).items():
        delta.add_field(LEASED_OF_COUNTER[f"counts.{name}"], -int(amount))
    delta.newest = flatten(shard.get("newest") or {}, "newest")
    delta.oldest = flatten(shard.get("oldest") or {}, "oldest")
    return delta, shard_buckets(shard)


def shard_buckets(shard: Document) -> dict[CounterKey, BucketDelta]:
    """The group's time buckets as the shard holds them."""
    buckets: dict[CounterKey, BucketDelta] = {}
    for name, stored in (shard.get("buckets") or {}).items():
        period, start = name.split("@")
        bucket = BucketDelta(
            events=int(stored.get("events", 0)),
            by_type={k: int(n) for k, n in (stored.get("byType") or {}).items()},
            revenue=float(stored.get("revenue", 0.0)),
            payments=int(stored.get("payments", 0)),
            actors=set(stored.get("actors") or ()),
        )
        buckets[(None, Period(period), datetime.fromtimestamp(int(start), UTC))] = bucket
    return buckets
