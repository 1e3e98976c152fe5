"""The MongoDB client: one ``AsyncMongoClient`` per process, with cost accounting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from ontology.db.cost import CostListener

T = TypeVar("T")
Document = dict[str, Any]


class Database:
    """The application's database handle, shared by every repository."""

    def __init__(self, uri: str, name: str) -> None:
        self.client: AsyncMongoClient[Document] = AsyncMongoClient(
            uri,
            event_listeners=[CostListener()],
            tz_aware=True,
            appname="ontology",
        )
        self.db: AsyncDatabase[Document] = self.client.get_database(
            name, codec_options=CodecOptions(tz_aware=True)
        )

    def collection(self, name: str) -> AsyncCollection[Document]:
        return self.db[name]

    async def ping(self) -> None:
        await self.db.command("ping")

    async def in_transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Run ``work`` in one multi-document transaction, retried on transient errors."""
        async with self.client.start_session() as session:
            return await session.with_transaction(
                work,
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
            )

    async def close(self) -> None:
        await self.client.close()
