"""The API keys a process has authenticated, so a request reads one document, not two.

Every request needs its group's document (the counters behind ``totalCount`` and
page windows, the limits, the plan), read fresh each time. The key itself, looked
up by the hash of its secret through a secondary index, changes only when it is
revoked, so the process remembers it: a remembered key costs a request one read
by ``_id`` (the group) instead of two.

A revocation must still take effect at once in every process. The group document
carries ``keysRevision``, which every revocation raises in the same transaction
as it marks the key revoked. A remembered key is stored with the revision its
group had when it was checked; a request whose group shows another revision
forgets its key and checks it again (so each remembered key of the group is
checked again on its next use).

When a key is first checked (or checked again), its group is read after the key,
and the key read once more after the group: a revocation that committed between
the first two reads is seen by the third, so a key is never remembered with a
revision taken after its own revocation. A request that races a revocation (both
in flight at once) may still be served; once ``revoke`` has returned, no process
accepts the key.
"""

from __future__ import annotations

from dataclasses import dataclass

from bson import ObjectId

from ontology.keys.models import Role
from ontology.kit.lru import LruMap

# keys remembered per process (each a few hundred bytes); the least recently used go first
KEY_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class KnownKey:
    """What authentication needs of a checked key, and its group's revision then."""

    key_id: ObjectId
    group_id: ObjectId
    role: Role
    revision: int


class KeyCache(LruMap[str, KnownKey]):
    """The keys checked by this process, by the hash of their secret."""

    def __init__(self, size: int = KEY_CACHE_SIZE) -> None:
        super().__init__(size)
