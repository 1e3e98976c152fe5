"""The engagement of content, kept current by every write: two group metrics read it.

``averageEngagementPerContent`` and ``topContentByEngagement`` used to read every
live content thing of the group (one aggregation, ~35 µs a thing on the
embedded server: 2.9 s at 100,000 things). They now read state that every write
changing a thing's inbound connections keeps exact, in the write's transaction:

* ``counts.inboundByType.<thing type>`` on the group document: the inbound
  connections of the group's live things of that type. Like ``thingsByType`` it
  is keyed by thing type, not by "content", so it stays exact whichever types
  the vocabulary calls content; the average is Σ inboundByType / Σ thingsByType
  over the content types, from the group document alone.
* ``engagement`` on the group document: a leaderboard of the first
  ``BOARD_SIZE`` live content things with inbound connections, in the metric's
  order (inbound count descending, ``_id`` ascending), each with its count, and
  the content types it was built for. The top 10 is the board's first 10, read
  back by id (one command, 10 documents), whatever the group's size.

Why a board and not an index on the inbound count read in windows from the top:
ties. The metric breaks ties by ``_id``, and content commonly ties on a small
count (thousands of posts with one inbound connection each: exactly what
``bench/scale.py`` seeds). The embedded server serves an equality prefix plus
ONE range and materializes every document of that range before a limit, so
"the smallest ids among the things with count 1" on an index (groupId,
deletedAt, content, inbound, _id) reads the whole plateau however the count
window is chosen; bounding it needs ``_id`` windows too, one more round trip
per widening. The board needs no range at all, and a write that changes counts
already updates the group document (its counters), so keeping the board costs
that write one read of the group document and nothing on other documents.

The board's invariant: it holds, in order, every content thing ranking above
``floor`` and nothing else; every content thing with inbound connections that
is not on it ranks below ``floor`` (``floor`` None: the board holds them all).
A change of counts merges the changed things in (``Board.merge``): a thing
rising above the floor joins, a member falling below it leaves, and past
``BOARD_SIZE`` the tail is cut and the floor rises to the last member kept. The
top 10 is exact while the board holds 10 members or all of them. Members leave
only by losing connections or being deleted, so the board runs short only after
at least ``BOARD_SIZE - 10`` (40) removals from the top that no rise replaced;
the next read then rebuilds it from the things (``rebuild``: one aggregation
over the group's content things, the old cost, once) and stores it.

Groups stored before these counters existed have no ``counts.inboundByType``:
writes leave such a group alone, and its first read of the metrics recounts it
(``rebuild``, one aggregation over its live things, in a transaction with the
group's other writes) and stores both. A board built for another set of content
types (the vocabulary changed) is rebuilt the same way; a group whose content
has no inbound connections (a new group) needs no board at all: it is empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database
from ontology.ledger.accounts import GroupAccounts
from ontology.ledger.counters import CountDelta
from ontology.ledger.documents import EngagementBoard
from ontology.things.documents import ThingDocument
from ontology.things.repository import ThingRepository
from ontology.vocabulary.registry import Vocabulary

BOARD_SIZE = 50  # members kept: 10 shown, 40 spare before a rebuild
TOP = 10

# (inbound connections, thing id); ranks before another when its count is higher, or
# equal with a smaller id
Rank = tuple[int, ObjectId]


def ranks_before(a: Rank, b: Rank) -> bool:
    return a[0] > b[0] or (a[0] == b[0] and a[1] < b[1])


def _order(rank: Rank) -> tuple[int, ObjectId]:
    return -rank[0], rank[1]


@dataclass(frozen=True)
class Board:
    """The first content things by inbound connections; see the module docstring."""

    types: tuple[str, ...]
    members: tuple[Rank, ...]
    floor: Rank | None  # None: every content thing with inbound connections is a member

    @classmethod
    def empty(cls, types: Sequence[str]) -> Board:
        return cls(tuple(types), (), None)

    @classmethod
    def of(cls, types: Sequence[str], ranked: Sequence[Rank]) -> Board:
        """The board of the first ``BOARD_SIZE`` ranks of all there are (``ranked``:
        the first ``BOARD_SIZE`` of them, in order, or all when fewer)."""
        floor = ranked[BOARD_SIZE - 1] if len(ranked) >= BOARD_SIZE else None
        return cls(tuple(types), tuple(ranked[:BOARD_SIZE]), floor)

    @classmethod
    def from_doc(cls, doc: EngagementBoard | None) -> Board | None:
        if not doc:
            return None
        floor = doc.get("floor")
        return cls(
            tuple(doc["types"]),
            tuple((int(m["n"]), m["_id"]) for m in doc["members"]),
            (int(floor["n"]), floor["_id"]) if floor else None,
        )

    def to_doc(self) -> EngagementBoard:
        return {
            "types": list(self.types),
            "members": [{"_id": i, "n": n} for n, i in self.members],
            "floor": {"_id": self.floor[1], "n": self.floor[0]} if self.floor else None,
        }

    @property
    def complete(self) -> bool:
        """Whether its first ``TOP`` members are the exact top (or all there is)."""
        return self.floor is None or len(self.members) >= TOP

    def top(self) -> list[Rank]:
        return list(self.members[:TOP])

    def merge(self, changed: dict[ObjectId, int]) -> Board:
        """The board after these content things' inbound counts became these values
        (0: no inbound connections left, or the thing was deleted)."""
        kept = [m for m in self.members if m[1] not in changed]
        for thing_id, n in changed.items():
            rank = (n, thing_id)
            if n > 0 and (self.floor is None or ranks_before(rank, self.floor)):
                kept.append(rank)
        kept.sort(key=_order)
        floor = self.floor
        if len(kept) > BOARD_SIZE:
            kept = kept[:BOARD_SIZE]
            floor = kept[-1]
        return Board(self.types, tuple(kept), floor)


@dataclass(frozen=True)
class Engagement:
    """What the two metrics read: the top content documents (ordered), the inbound
    connections of all live content, and how many live content things there are."""

    top: list[ThingDocument]
    inbound: int
    count: int


def _content_sum(by_type: dict[str, Any], types: Sequence[str]) -> int:
    return sum(int(by_type.get(t, 0)) for t in types)


class EngagementLedger:
    """Keeps things' connection counts, the group's inbound counters and its board in
    step (``record``, inside a write's transaction), and reads them (``read``)."""

    def __init__(
        self,
        database: Database,
        things: ThingRepository,
        groups: GroupAccounts,
        vocabulary: Vocabulary,
    ) -> None:
        self.database = database
        self.things = things
        self.groups = groups
        self.content_types = tuple(sorted(vocabulary.type_set("content")))
        self._content = frozenset(self.content_types)

    # -- writes ------------------------------------------------------------

    async def record(
        self,
        group_id: ObjectId,
        changes: Sequence[tuple[ObjectId, str, str, int]],
        session: AsyncClientSession,
        *,
        deleted: ThingDocument | None = None,
        created: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Apply (thing id, "inbound"|"outbound", connection type, delta) to the things'
        ``connectionCounts``, and what they change to the group's ``inboundByType`` and
        board. ``deleted``: the thing this write soft-deleted (its own changes update
        no document, but its inbound connections leave its type's counter and it leaves
        the board). ``created``: the new connections, whose ids raise the things'
        ``newestConnection`` keys (where their relation pages start)."""
        deleted_id = deleted["_id"] if deleted is not None else None
        await self.things.apply_connection_counts(
            group_id, [c for c in changes if c[0] != deleted_id], session, created
        )
        inbound: dict[ObjectId, int] = {}
        for thing_id, direction, _, delta in changes:
            if direction == "inbound":
                inbound[thing_id] = inbound.get(thing_id, 0) + delta
        content_changed: dict[ObjectId, int] = {}
        types: dict[ObjectId, str] = {}
        if deleted is not None:
            types[deleted["_id"]] = deleted["type"]
            if deleted["type"] in self._content and inbound.get(deleted["_id"]):
                content_changed[deleted["_id"]] = 0
        targets = [i for i in inbound if i != deleted_id]
        for doc in await self.things.inbound_counts(group_id, targets, session):
            types[doc["_id"]] = doc["type"]
            if doc["type"] in self._content:
                content_changed[doc["_id"]] = int(doc["connectionCounts"]["inbound"])
        by_type = CountDelta()
        for thing_id, delta in inbound.items():
            if thing_id in types:
                by_type.inbound(types[thing_id], delta)
        if not content_changed:
            await self.groups.add_inbound(group_id, by_type, None, session)
            return
        state = await self.groups.engagement(group_id, session)
        counts = state.get("counts") or {}
        if "inboundByType" not in counts:
            return  # stored before these counters: its first read recounts it
        board = Board.from_doc(state.get("engagement"))
        if board is None or board.types != self.content_types:
            # no board for these content types: it is empty while no content has
            # inbound connections (before this write), else the next read rebuilds it
            if _content_sum(counts["inboundByType"], self.content_types):
                await self.groups.add_inbound(group_id, by_type, None, session)
                return
            board = Board.empty(self.content_types)
        board = board.merge(content_changed)
        await self.groups.add_inbound(group_id, by_type, board.to_doc(), session)

    # -- reads -------------------------------------------------------------

    async def read(self, group_id: ObjectId) -> Engagement:
        """The top content, and the totals behind the average: two commands (the group
        document, the top things by id), unless the group needs a ``rebuild``."""
        state = await self.groups.engagement(group_id)
        counts = state.get("counts") or {}
        by_type = counts.get("inboundByType")
        if by_type is None:
            return await self.rebuild(group_id)
        board = Board.from_doc(state.get("engagement"))
        if board is None or board.types != self.content_types:
            if _content_sum(by_type, self.content_types):
                return await self.rebuild(group_id)
            board = Board.empty(self.content_types)
        if not board.complete:
            return await self.rebuild(group_id)
        ids = [thing_id for _, thing_id in board.top()]
        docs = await self.things.by_ids(group_id, ids) if ids else []
        return Engagement(
            top=_ordered(docs),
            inbound=_content_sum(by_type, self.content_types),
            count=_content_sum(counts.get("thingsByType") or {}, self.content_types),
        )

    async def rebuild(self, group_id: ObjectId) -> Engagement:
        """Recount the group's inbound counters and rebuild its board from its things, in
        one transaction with the group's writes; what ``read`` returns.

        Reads every live thing of the group once: for a group stored before these
        counters, a changed vocabulary, or a board run short (module docstring).
        """

        async def work(session: AsyncClientSession) -> Engagement:
            by_type = await self.things.inbound_by_type(group_id, session)
            ranked = await self.things.most_inbound(
                group_id, self.content_types, BOARD_SIZE, session
            )
            board = Board.of(
                self.content_types,
                [(int(d["connectionCounts"]["inbound"]), d["_id"]) for d in ranked],
            )
            counts = await self.groups.reset_engagement(group_id, by_type, board.to_doc(), session)
            return Engagement(
                top=ranked[:TOP],
                inbound=_content_sum(by_type, self.content_types),
                count=_content_sum(counts.get("thingsByType") or {}, self.content_types),
            )

        return await self.database.in_transaction(work, serialize_on=group_id)


def _ordered(docs: list[ThingDocument]) -> list[ThingDocument]:
    """Things in the metric's order (their stored counts agree with the board's)."""
    live = [d for d in docs if int(d["connectionCounts"]["inbound"]) > 0]
    return sorted(live, key=lambda d: (-int(d["connectionCounts"]["inbound"]), d["_id"]))
