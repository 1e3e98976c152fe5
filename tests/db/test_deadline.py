"""Deadlines of database work: what counts as a timeout, and waits bounded by the deadline."""

from __future__ import annotations

import asyncio
import time

import pytest
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ExecutionTimeout, NetworkTimeout, OperationFailure

from ontology.db.deadline import DeadlineExceeded, deadline, is_timeout, remaining
from ontology.runtime import Runtime


def test_timeouts_are_told_from_other_failures() -> None:
    wrapped = RuntimeError("while loading")
    wrapped.__cause__ = NetworkTimeout("host:1: timed out")

    assert is_timeout(ExecutionTimeout("operation exceeded time limit", 50))
    assert is_timeout(NetworkTimeout("host:1: timed out"))
    assert is_timeout(DeadlineExceeded("waited too long"))
    assert is_timeout(wrapped)
    assert not is_timeout(OperationFailure("bad value", 2))
    assert not is_timeout(ValueError("a bug"))


def test_deadlines_nest_to_the_earlier_one() -> None:
    assert remaining() is None
    with deadline(10):
        with deadline(0.5):
            inner = remaining()
        with deadline(60):
            outer = remaining()
    assert remaining() is None
    assert inner is not None and 0.4 < inner <= 0.5
    assert outer is not None and 9 < outer <= 10


async def test_waiting_for_the_groups_write_lock_ends_at_the_deadline(runtime: Runtime) -> None:
    database = runtime.database
    holding = asyncio.Event()
    release = asyncio.Event()

    async def long_write(session: AsyncClientSession) -> None:
        holding.set()
        await release.wait()

    async def quick_write(session: AsyncClientSession) -> str:
        return "written"

    # given a transaction of group "g" holding the group's write lock
    first = asyncio.create_task(database.in_transaction(long_write, serialize_on="g"))
    await holding.wait()
    try:
        # when another write of the group waits for it under a 0.2 s deadline
        started = time.monotonic()
        with deadline(0.2), pytest.raises(DeadlineExceeded) as raised:
            await database.in_transaction(quick_write, serialize_on="g")
        waited = time.monotonic() - started
        # then it gives up at the deadline, and a write of another group is not held up
        assert 0.2 <= waited < 1.0
        assert str(raised.value) == (
            "The deadline passed while waiting for the group's other writes."
        )
        with deadline(5):
            assert await database.in_transaction(quick_write, serialize_on="h") == "written"
    finally:
        release.set()
        await first
    # and once the lock is free the group writes again
    with deadline(5):
        assert await database.in_transaction(quick_write, serialize_on="g") == "written"
