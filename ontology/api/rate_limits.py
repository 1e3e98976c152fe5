"""Request rates of the GraphQL endpoint: one token bucket per API key and per group.

Limits hold per process (the buckets live in memory): behind N API processes a
key may send N times its rate. A request takes a token from its key's bucket
and from its group's bucket, both or neither, right after authentication and
before the body is parsed.

A refused key should not cost the database authentication's read (or three, on a
key's first request) on every further request, so before authenticating the
endpoint asks whether the key's bucket (looked up by the hash of the presented
secret), or the bucket of the group that key last acted on, is empty. Buckets
exist only for keys that authenticated, so unknown keys never fill memory; a
refused, since revoked key gets 429 rather than 401 until its bucket would have
refilled.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bson import ObjectId

from ontology.config import Settings
from ontology.kit.lru import LruMap
from ontology.kit.rate_limit import TokenBuckets, retry_after_seconds

MAX_BUCKETS = 100_000


class RateScope(StrEnum):
    """What refused a request (``extensions.scope`` and the metric's label)."""

    KEY = "key"
    GROUP = "group"
    BATCH = "batch"  # too many batch mutations at once (``ontology.api.batch_slots``)


@dataclass(frozen=True)
class RateRefusal:
    scope: RateScope
    per_second: float
    burst: int
    retry_after: int

    @property
    def message(self) -> str:
        who = "this API key" if self.scope is RateScope.KEY else "this group"
        return (
            f"Too many requests for {who}: the limit is {self.per_second:g} per second "
            f"with bursts of {self.burst}. Retry after {self.retry_after} s."
        )


class RequestRateLimiter:
    """The endpoint's buckets; ``None`` for a scope whose rate is 0 (no limit)."""

    def __init__(
        self,
        keys: TokenBuckets[str] | None,
        groups: TokenBuckets[ObjectId] | None,
    ) -> None:
        self.keys = keys
        self.groups = groups
        # (key hash, X-Ontology-Group) -> the group that key acted on, for the check
        # before authentication; bounded like the buckets.
        self._group_of = LruMap[tuple[str, str], ObjectId](MAX_BUCKETS)

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestRateLimiter:
        keys = (
            TokenBuckets[str](
                settings.rate_limit_per_key, settings.rate_limit_burst, max_buckets=MAX_BUCKETS
            )
            if settings.rate_limit_per_key > 0
            else None
        )
        groups = (
            TokenBuckets[ObjectId](
                settings.rate_limit_per_group,
                settings.rate_limit_group_burst,
                max_buckets=MAX_BUCKETS,
            )
            if settings.rate_limit_per_group > 0
            else None
        )
        return cls(keys, groups)

    def before_authentication(self, key_hash: str | None, group: str | None) -> RateRefusal | None:
        """A refusal when this key's (or its last group's) bucket is known to be empty."""
        if key_hash is None:
            return None
        if self.keys is not None and (wait := self.keys.wait(key_hash)) > 0:
            return self._refusal(RateScope.KEY, wait)
        group_id = self._group_of.get((key_hash, group or ""))
        if self.groups is None or group_id is None:
            return None
        wait = self.groups.wait(group_id)
        return self._refusal(RateScope.GROUP, wait) if wait > 0 else None

    def admit(self, key_hash: str, group: str | None, group_id: ObjectId) -> RateRefusal | None:
        """Take a token from the key's and the group's bucket (both or neither)."""
        self._group_of.put((key_hash, group or ""), group_id)
        # Both waits first: a request the group refuses must not spend the key's token.
        if self.keys is not None and (wait := self.keys.wait(key_hash)) > 0:
            return self._refusal(RateScope.KEY, wait)
        if self.groups is not None and (wait := self.groups.wait(group_id)) > 0:
            return self._refusal(RateScope.GROUP, wait)
        # No await since the waits: nothing else can have spent the tokens.
        if self.keys is not None:
            self.keys.take(key_hash)
        if self.groups is not None:
            self.groups.take(group_id)
        return None

    def _refusal(self, scope: RateScope, wait: float) -> RateRefusal:
        buckets = self.keys if scope is RateScope.KEY else self.groups
        assert buckets is not None
        return RateRefusal(scope, buckets.per_second, buckets.burst, retry_after_seconds(wait))
