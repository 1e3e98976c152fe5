"""Bulk writes in commands of bounded size.

A write command holds its collection for its whole duration on the embedded
server, and inside a transaction it holds back every other transaction that
writes there: measured with raw PyMongo (3 transactions of 10,000 inserts,
another client's two-insert transactions alongside), one 10,000-document
command made the other client's p95 1,301 ms; 1,000-document commands 378 ms;
200-document commands 66 ms, for the same total time. So large writes are sent
``chunk`` operations at a time, still in the caller's transaction (atomicity is
the transaction's, not the command's), and other tenants' writes interleave.

The embedded server also runs every transaction's statements one at a time
(each statement, and each commit, holds its transaction's mutex, and every
other transaction statement takes all of them on its way in), so a single
write of another tenant waits for the statement in flight at each of its
statements: ~87 ms for 200 documents into ``things``, ~14 ms for 50. Measured
with ``bench/scale.py --noisy-only`` (tenant B's single writes while tenant A
imports 10,000 things back to back), B's p50 was 190 ms with commands of 200
and 61 ms with 50, A's batch no slower; hence 50 by default
(``ONTOLOGY_WRITE_CHUNK_SIZE``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from ontology.db.client import Document
from ontology.db.lanes import lanes


@dataclass(frozen=True)
class WriteTotals:
    matched: int = 0
    modified: int = 0
    deleted: int = 0


async def insert_chunked(
    collection: AsyncCollection[Document],
    docs: Sequence[Mapping[str, Any]],
    session: AsyncClientSession | None,
    chunk: int,
) -> None:
    """Insert ``docs`` in order, ``chunk`` per command.

    A ``BulkWriteError`` names the failed document by its index in ``docs``
    (each command numbers its own from 0), so callers see what one command
    would have reported; the commands after a failure are not sent.
    """
    for start in range(0, len(docs), chunk):
        if start:
            await lanes.bulk_turn()
        try:
            await collection.insert_many(
                # the collection's own document types (TypedDicts) are mappings
                cast(list[Document], list(docs[start : start + chunk])),
                ordered=True,
                session=session,
            )
        except BulkWriteError as failure:
            for error in failure.details.get("writeErrors", []):
                error["index"] = int(error["index"]) + start
            raise


async def bulk_write_chunked(
    collection: AsyncCollection[Document],
    operations: Sequence[Any],
    session: AsyncClientSession | None,
    chunk: int,
) -> WriteTotals:
    """Unordered bulk writes, ``chunk`` operations per command; the totals of all of them."""
    matched = modified = deleted = 0
    for start in range(0, len(operations), chunk):
        if start:
            await lanes.bulk_turn()
        result = await collection.bulk_write(
            list(operations[start : start + chunk]), ordered=False, session=session
        )
        matched += result.matched_count
        modified += result.modified_count
        deleted += result.deleted_count
    return WriteTotals(matched, modified, deleted)
