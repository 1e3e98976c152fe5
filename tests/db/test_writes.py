"""Bulk writes in bounded commands: the chunks, their error indexes, one transaction."""

from __future__ import annotations

import pytest
from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError

from ontology.db.cost import track_cost
from ontology.db.writes import WriteTotals, bulk_write_chunked, insert_chunked
from ontology.runtime import Runtime


async def test_documents_are_inserted_in_order_in_commands_of_the_chunk_size(
    runtime: Runtime,
) -> None:
    # given 7 documents and chunks of 3
    collection = runtime.database.collection("chunked")
    docs = [{"_id": i, "n": i} for i in range(7)]

    # when they are inserted
    with track_cost() as cost:
        await insert_chunked(collection, docs, None, 3)

    # then 3 commands carried them, and all are stored
    assert cost.command_names == ["insert", "insert", "insert"]
    assert [d async for d in collection.find({}).sort("_id", 1)] == docs


async def test_a_failure_names_its_index_in_the_whole_list_and_the_transaction_keeps_nothing(
    runtime: Runtime,
) -> None:
    # given a stored document whose _id the 6th of 7 new documents repeats
    collection = runtime.database.collection("chunked")
    await collection.insert_one({"_id": 100})
    docs = [{"_id": i} for i in range(5)] + [{"_id": 100}, {"_id": 6}]

    # when they are inserted in chunks of 2 inside one transaction
    async def write(session: AsyncClientSession) -> None:
        await insert_chunked(collection, docs, session, 2)

    with pytest.raises(BulkWriteError) as raised:
        await runtime.database.in_transaction(write)

    # then the error names the 6th document, as one command would have,
    # and the chunks sent before it were rolled back with the transaction
    assert [(e["index"], e["code"]) for e in raised.value.details["writeErrors"]] == [(5, 11000)]
    assert [d async for d in collection.find({})] == [{"_id": 100}]


async def test_bulk_writes_add_up_their_chunks(runtime: Runtime) -> None:
    # given 5 documents
    collection = runtime.database.collection("chunked")
    group = ObjectId()
    await collection.insert_many([{"_id": i, "g": group, "v": 0} for i in range(5)])

    # when 6 updates (one of a missing document) go in chunks of 4
    operations = [UpdateOne({"_id": i}, {"$inc": {"v": 1}}) for i in range(6)]
    with track_cost() as cost:
        totals = await bulk_write_chunked(collection, operations, None, 4)

    # then two commands ran, and their totals are summed
    assert cost.command_names == ["update", "update"]
    assert totals == WriteTotals(matched=5, modified=5, deleted=0)
    assert [d["v"] async for d in collection.find({})] == [1, 1, 1, 1, 1]
