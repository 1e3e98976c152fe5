"""The start-up check: a server that cannot run transactions is refused, clearly.

SecantusDB supports transactions, so the refusal is provoked with the server's
``failCommand`` fail point answering the probe's ``find`` with IllegalOperation
(20), the code a standalone mongod returns for any command that carries a
transaction number. The error is a real server reply; only its text differs
from mongod's ("Transaction numbers are only allowed on a replica set member
or mongos").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pymongo.errors import OperationFailure

from ontology.config import Settings
from ontology.db.client import Database, TransactionsUnsupportedError
from ontology.db.embedded import EmbeddedServer
from ontology.runtime import open_runtime


@asynccontextmanager
async def failing_find(database: Database, code: int) -> AsyncIterator[None]:
    admin = database.client.admin
    await admin.command(
        {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": ["find"], "errorCode": code, "appName": "ontology"},
        }
    )
    try:
        yield
    finally:
        await admin.command({"configureFailPoint": "failCommand", "mode": "off"})


async def test_a_replica_set_passes_the_check(mongo_server: EmbeddedServer) -> None:
    database = Database(mongo_server.uri, "probe")
    try:
        await database.check_transactions()
    finally:
        await database.close()


async def test_illegal_operation_on_the_probe_means_no_transactions(
    mongo_server: EmbeddedServer,
) -> None:
    database = Database(mongo_server.uri, "probe")
    try:
        async with failing_find(database, 20):
            with pytest.raises(TransactionsUnsupportedError) as raised:
                await database.check_transactions()
        address = ",".join(f"{h}:{p}" for h, p in sorted(database.client.nodes))
    finally:
        await database.close()

    assert str(raised.value) == (
        f"MongoDB at {address} cannot run transactions (20: Failing command via 'failCommand' "
        "failpoint). Ontology writes in transactions, which need a replica set: run mongod "
        "with --replSet rs0 and call rs.initiate() once (a single node is enough), "
        "see docs/operations.md."
    )


async def test_other_server_errors_are_not_mistaken_for_missing_transactions(
    mongo_server: EmbeddedServer,
) -> None:
    database = Database(mongo_server.uri, "probe")
    try:
        async with failing_find(database, 2):
            with pytest.raises(OperationFailure) as raised:
                await database.check_transactions()
    finally:
        await database.close()

    assert raised.value.code == 2
    assert not isinstance(raised.value, TransactionsUnsupportedError)


async def test_open_runtime_refuses_to_start_without_transactions(settings: Settings) -> None:
    database = Database(str(settings.mongodb_uri), settings.db_name)
    try:
        async with failing_find(database, 20):
            with pytest.raises(TransactionsUnsupportedError):
                async with open_runtime(settings):
                    pass
    finally:
        await database.close()
