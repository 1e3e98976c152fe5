"""Pages read in bounded windows (``ontology.db.windows``), on data shaped by hand.

Ids are built from their parts (seconds, process bytes, counter), so each data
set has a known shape: a dense burst of consecutive ids, a sparse scope with one
item every few days, and a mix of both. Every page is compared with the same
page read by one unbounded query, and the commands each page sends and the keys
they read (the documents in each window's range: what the embedded server
examines) are pinned.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring

from ontology.config import Settings
from ontology.db.cost import track_cost
from ontology.db.queries import FindSpec
from ontology.db.windows import EVENT_KEYS, OBJECT_IDS, KeyHints, KeySpace, Scan
from ontology.events.repository import EventFilter
from ontology.kit.clock import utcnow
from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.kit.pagination import PageRequest
from ontology.ledger.events import new_event
from ontology.runtime import Runtime

PROCESS = 0x0A0B0C0D0E
DAY = 86_400


def oid(seconds: int, counter: int, process: int = PROCESS) -> ObjectId:
    return OBJECT_IDS.from_int(seconds << 64 | process << 24 | counter)  # type: ignore[return-value]


@dataclass
class Finds(monitoring.CommandListener):
    """The filters of the ``find`` commands sent to the collection under test."""

    collection: str
    filters: list[dict[str, Any]] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command.get("find") == self.collection:
            self.filters.append(event.command["filter"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def shaped_db(runtime: Runtime, settings: Settings) -> AsyncIterator[tuple[Any, Finds]]:
    """The test database through a client of its own that records its ``find`` filters."""
    finds = Finds("shaped")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri, event_listeners=[finds]
    )
    yield client.get_database(settings.db_name), finds
    await client.close()


class Shaped:
    """A collection of one group's documents with chosen ids, and its pages."""

    def __init__(self, shaped_db: tuple[Any, Finds], group_id: ObjectId) -> None:
        database, self.finds = shaped_db
        self.collection = database["shaped"]
        self.group_id = group_id
        self.hints = KeyHints()
        self.ids: list[ObjectId] = []

    async def insert(self, ids: list[ObjectId]) -> None:
        await self.collection.create_index([("groupId", 1), ("_id", 1)])
        await self.collection.insert_many([{"_id": i, "groupId": self.group_id} for i in ids])
        self.ids = sorted(self.ids + ids)

    def spec(self, page: PageRequest) -> FindSpec:
        scan = Scan.of(page, OBJECT_IDS, "_id", self.group_id, self.hints)
        sort = (("_id", page.sort_direction),)
        return FindSpec({"groupId": self.group_id}, sort, page.limit, "shaped", scan=scan)

    async def page(self, page: PageRequest) -> tuple[list[ObjectId], int, int]:
        """The page's ids, the commands it sent and the keys those commands read."""
        self.finds.filters.clear()
        docs = await self.spec(page).run(self.collection)
        filters = list(self.finds.filters)
        keys = 0
        for query in filters:
            keys += await self.collection.count_documents(query)
        return [doc["_id"] for doc in docs], len(filters), keys

    def expected(self, page: PageRequest) -> list[ObjectId]:
        """The same page from the ids in memory."""
        ids = self.ids
        if page.after is not None:
            ids = [i for i in ids if i < page.after]
        if page.before is not None:
            ids = [i for i in ids if i > page.before]
        return ids[: page.limit] if page.backward else ids[::-1][: page.limit]


async def make(shaped_db: tuple[Any, Finds], created: int) -> Shaped:
    return Shaped(shaped_db, oid(created, 0, process=1))


async def walk_all(shaped: Shaped, size: int, backward: bool) -> list[ObjectId]:
    """Every id, page by page, checking each page against the unbounded query."""
    seen: list[ObjectId] = []
    cursor: ObjectId | None = None
    while True:
        if backward:
            page = PageRequest(size=size, before=cursor, backward=True)
        else:
            page = PageRequest(size=size, after=cursor)
        ids, _, _ = await shaped.page(page)
        assert ids == shaped.expected(page)
        seen += ids[:size]
        if len(ids) <= size:
            return seen
        cursor = ids[size - 1]


NOW = int(time.time())


async def test_a_dense_burst_costs_one_command_a_page(shaped_db: tuple[Any, Finds]) -> None:
    # given 2,000 ids made one after another by one process an hour ago
    shaped = await make(shaped_db, NOW - 2 * DAY)
    await shaped.insert([oid(NOW - 3600, 5_000 + i) for i in range(2_000)])

    # when reading the first page cold (no hint: the walk starts now), then again
    cold = await shaped.page(PageRequest(size=10))
    warm = await shaped.page(PageRequest(size=10))

    # then the cold page widens from one second to 4,096 s (5 windows) and reads the
    # whole burst in the last one; warm, it starts at the newest key: one command,
    # 16 keys (a window is never narrower than a page's limit rounded to a rung)
    assert cold[0] == warm[0] == shaped.expected(PageRequest(size=10))
    assert (cold[1], cold[2]) == (5, 2_000)
    assert (warm[1], warm[2]) == (1, 16)

    # and every later page, forward or back, is one command of 16 keys
    cursor = shaped.ids[-500]
    for page in (
        PageRequest(size=10, after=cursor),
        PageRequest(size=10, before=cursor, backward=True),
    ):
        ids, commands, keys = await shaped.page(page)
        assert (ids, commands, keys) == (shaped.expected(page), 1, 16)


async def test_a_sparse_scope_costs_a_few_commands_and_reads_a_few_keys(
    shaped_db: tuple[Any, Finds],
) -> None:
    # given one item every 9 days for a year, the newest 2 days old
    shaped = await make(shaped_db, NOW - 400 * DAY)
    await shaped.insert([oid(NOW - 2 * DAY - 9 * DAY * i, i) for i in range(40)])

    # when reading the first page twice, then the page after its cursor
    first = await shaped.page(PageRequest(size=5))
    again = await shaped.page(PageRequest(size=5))
    after = PageRequest(size=5, after=first[0][4])
    second = await shaped.page(after)

    # then pages are right and their cost is pinned: cold, the walk widens from one
    # second (now) by 8x until 9 windows hold a page; warm, it starts at the newest
    # item with the narrowest rung holding 6 items 9 days apart (8^8 s, 194 days):
    # one command reading 22 keys, as does the page after the cursor; no page reads
    # more than 8 x its limit (the rounding to a rung)
    assert (first[0], again[0], second[0]) == (
        shaped.expected(PageRequest(size=5)),
        shaped.expected(PageRequest(size=5)),
        shaped.expected(after),
    )
    assert [(p[1], p[2]) for p in (first, again, second)] == [(9, 25), (1, 22), (1, 21)]


async def test_a_sparse_tail_behind_a_burst(shaped_db: tuple[Any, Finds]) -> None:
    # given 1,000 dense ids a minute ago, behind 30 items a day apart
    shaped = await make(shaped_db, NOW - 60 * DAY)
    burst = [oid(NOW - 60, 100 + i) for i in range(1_000)]
    tail = [oid(NOW - DAY * (i + 1), 10_000 + i) for i in range(30)]
    await shaped.insert(burst + tail)
    await shaped.page(PageRequest(size=10))  # learn the newest key and the density

    # when crossing from the burst into the tail, and paging within the tail
    crossing = PageRequest(size=10, after=burst[5])
    within = PageRequest(size=10, after=tail[3])
    results = [await shaped.page(p) for p in (crossing, within)]

    # then both pages are right and neither reads the burst again: the crossing
    # walks from the burst's 16-key window to the block's end, then from one second
    # to the first day of the tail (10 commands); within the tail the first window
    # is as wide as 11 items a day apart (1 command)
    assert [r[0] for r in results] == [shaped.expected(crossing), shaped.expected(within)]
    assert [(r[1], r[2]) for r in results] == [(10, 32), (1, 24)]


@pytest.mark.parametrize("backward", [False, True])
async def test_walking_every_page_returns_every_item_once_in_order(
    shaped_db: tuple[Any, Finds], backward: bool
) -> None:
    # given a mix: two bursts of two processes in one second, sparse items around them
    shaped = await make(shaped_db, NOW - 30 * DAY)
    ids = [oid(NOW - 100, i) for i in range(300)]
    ids += [oid(NOW - 100, 7_000_000 + i, process=PROCESS + 1) for i in range(200)]
    ids += [oid(NOW - 100 - DAY * k, k) for k in range(1, 20)]
    ids += [oid(NOW - 5, 1 << 23)]
    await shaped.insert(ids)

    # when walking every page of 7, newest first or oldest first
    seen = await walk_all(shaped, 7, backward)

    # then each item comes once, in order
    assert seen == (sorted(ids) if backward else sorted(ids, reverse=True))


async def test_a_stale_hint_costs_what_was_written_since_never_a_wrong_page(
    shaped_db: tuple[Any, Finds],
) -> None:
    # given a page read (the hint now holds the newest key), then 50 newer items
    # written by another process (the hint does not know them)
    shaped = await make(shaped_db, NOW - DAY)
    await shaped.insert([oid(NOW - 600, i) for i in range(100)])
    await shaped.page(PageRequest(size=10))
    newer = [oid(NOW - 300, i, process=PROCESS + 7) for i in range(50)]
    await shaped.insert(newer)

    # when reading the first page again
    ids, commands, keys = await shaped.page(PageRequest(size=10))

    # then it holds the newest items: the first window is open above the hint
    assert ids == sorted(newer, reverse=True)[:11]
    assert (commands, keys) == (1, 50 + 16)


def test_event_keys_and_object_ids_round_trip() -> None:
    key = f"{1_700_000_000_123:013d}:{ObjectId()}"
    assert EVENT_KEYS.from_int(EVENT_KEYS.to_int(key)) == key
    assert EVENT_KEYS.to_int("1700000000123") == EVENT_KEYS.to_int(f"1700000000123:{'0' * 24}")
    some = ObjectId()
    assert OBJECT_IDS.from_int(OBJECT_IDS.to_int(some)) == some
    assert OBJECT_IDS.at(2) == 2 << 64


@pytest.mark.parametrize(
    ("space", "key"),
    [
        (OBJECT_IDS, "0001700000000123:" + "0" * 24),  # an event's key on an id list
        (EVENT_KEYS, ObjectId()),  # an id on the events list
        (EVENT_KEYS, "abc"),
        (EVENT_KEYS, "1700000000123:" + "g" * 24),
        (EVENT_KEYS, "17000000001230:" + "0" * 24),
    ],
)
def test_a_cursor_of_another_list_or_forged_is_refused(space: KeySpace, key: Any) -> None:
    page = PageRequest(size=5, after=key)
    with pytest.raises(ClientError) as refused:
        Scan.of(page, space, "_id", ObjectId(), KeyHints())
    assert refused.value.code == RequestErrorCode.INVALID_CURSOR


async def test_events_older_than_their_group_are_walked_to_not_read_at_once(
    runtime: Runtime,
) -> None:
    # given a new group holding 2,000 events spread over the 13 days before it was
    # created, and 60 of the last hour, written without the group's newest and
    # oldest keys (as data written before they were kept)
    group = await runtime.services.groups.create(slug="history", name="History")
    group_id, now = group["_id"], utcnow()
    events = [
        new_event(group_id, "content_event", timestamp=now - timedelta(hours=1, seconds=s))
        for s in ((n * 7919) % (13 * DAY) for n in range(2_000))
    ]
    events += [
        new_event(group_id, "content_event", timestamp=now - timedelta(minutes=m))
        for m in range(60)
    ]

    async def write(session: Any) -> None:
        await runtime.repos.log.append(group_id, events, session)

    await runtime.database.in_transaction(write)
    runtime.database.hints.clear()
    newest = sorted((e["sortKey"] for e in events), reverse=True)[:11]

    # when reading the first page twice
    pages = []
    for _ in range(2):
        with track_cost() as cost:
            docs = await runtime.repos.events.page(
                group_id, EventFilter(), PageRequest(size=10).known(len(events), None)
            )
        pages.append(([d["sortKey"] for d in docs], cost.commands, cost.documents_read))

    # then both are the newest events; cold, the walk widens from now in windows of
    # milliseconds x 8 (never one open window over the history below the group's
    # creation); warm, it is one window from the newest key, at the page's density
    assert [p[0] for p in pages] == [newest, newest]
    assert [p[1:] for p in pages][1] == (1, 11)
    assert pages[0][1] <= 12  # from the current time, which moves while the test runs
