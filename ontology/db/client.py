"""The MongoDB client: one ``AsyncMongoClient`` per process, with cost accounting."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from ontology.db import deadline
from ontology.db.cost import CostListener
from ontology.db.tracing import TracingCommandListener
from ontology.db.windows import KeyHints

T = TypeVar("T")
Document = dict[str, Any]

ILLEGAL_OPERATION = 20  # what a standalone mongod answers to a command in a transaction
PROBE_COLLECTION = "leases"


class TransactionsUnsupportedError(Exception):
    """The server cannot run multi-document transactions (e.g. a standalone mongod)."""

    def __init__(self, address: str, cause: OperationFailure) -> None:
        reason = str(cause.details.get("errmsg") if cause.details else cause)
        super().__init__(
            f"MongoDB at {address} cannot run transactions ({cause.code}: {reason}). "
            "Ontology writes in transactions, which need a replica set: run mongod with "
            "--replSet rs0 and call rs.initiate() once (a single node is enough), "
            "see docs/operations.md."
        )


class Database:
    """The application's database handle, shared by every repository."""

    def __init__(self, uri: str, name: str, *, write_chunk: int = 50) -> None:
        # operations per write command (``ontology.db.writes``)
        self.write_chunk = write_chunk
        # where each index range's keys were last seen (``ontology.db.windows``)
        self.hints = KeyHints()
        self.client: AsyncMongoClient[Document] = AsyncMongoClient(
            uri,
            event_listeners=[CostListener(), TracingCommandListener()],
            tz_aware=True,
            appname="ontology",
        )
        self.db: AsyncDatabase[Document] = self.client.get_database(
            name, codec_options=CodecOptions(tz_aware=True)
        )
        # one lock per key in use (a group), dropped when no writer holds or awaits it
        self._write_locks: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def collection(self, name: str) -> AsyncCollection[Document]:
        return self.db[name]

    async def ping(self) -> None:
        await self.db.command("ping")

    async def check_transactions(self) -> None:
        """Run a tiny read-only transaction; raise ``TransactionsUnsupportedError`` if refused.

        This tests the capability, not the topology: the embedded server reports a
        set name but is a single node, and a replica set's ``hello`` can differ
        behind proxies. A standalone mongod refuses any command carrying a
        transaction number with IllegalOperation (20).
        """

        try:
            # Not ``in_transaction``: its retries would wait two minutes for a server
            # that is down (errors inside a transaction are labelled transient).
            async with self.client.start_session() as session, await session.start_transaction():
                await self.db[PROBE_COLLECTION].find_one(
                    {"_id": "transaction-probe"}, session=session
                )
        except OperationFailure as error:
            if error.code == ILLEGAL_OPERATION:
                address = ",".join(f"{host}:{port}" for host, port in sorted(self.client.nodes))
                raise TransactionsUnsupportedError(address, error) from error
            raise

    async def in_transaction(
        self,
        work: Callable[[AsyncClientSession], Awaitable[T]],
        *,
        serialize_on: Hashable | None = None,
    ) -> T:
        """Run ``work`` in one multi-document transaction, retried on transient errors.

        Transactions with the same ``serialize_on`` key (a group id: they all
        update the group's counters) run one at a time in this process. Run
        together they would conflict on that document, and the driver retries a
        conflicting transaction with a growing pause (up to 0.5 s) for up to
        120 s, so under load writes would starve behind a long batch instead of
        queueing behind it. Across processes conflicts are still retried.
        """
        if serialize_on is None:
            return await self._transaction(work)
        lock = self._write_locks.get(serialize_on)
        if lock is None:
            lock = self._write_locks[serialize_on] = asyncio.Lock()
        # The wait for the lock counts against the deadline too: a request queued behind
        # a long batch gives up when its time is over instead of holding on.
        try:
            async with asyncio.timeout(deadline.remaining()):
                await lock.acquire()
        except TimeoutError:
            raise deadline.DeadlineExceeded(
                "The deadline passed while waiting for the group's other writes."
            ) from None
        try:
            return await self._transaction(work)
        finally:
            lock.release()

    async def _transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        async with self.client.start_session() as session:
            return await session.with_transaction(
                work,
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
            )

    async def close(self) -> None:
        await self.client.close()
