"""The scheduler lease: one holder at a time, renewals, take-over after expiry, release."""

from __future__ import annotations

from ontology.runs.leases import Lease
from ontology.runtime import Runtime
from tests.archival.support import NOW
from tests.factories import clock_at


async def test_one_holder_renewal_takeover_and_release(runtime: Runtime) -> None:
    with clock_at(NOW) as clock:
        first = Lease(runtime.repos.leases, 30, owner="a:1")
        second = Lease(runtime.repos.leases, 30, owner="b:2")

        # given the first process takes the lease
        assert await first.try_acquire() is True
        # then the second cannot, while the first renews it
        assert await second.try_acquire() is False
        clock.advance(seconds=20)
        assert await first.try_acquire() is True
        clock.advance(seconds=20)
        assert await second.try_acquire() is False

        # when the first stops renewing for a whole period
        clock.advance(seconds=30.001)

        # then the second takes it over, and the first has lost it
        assert await second.try_acquire() is True
        assert await first.try_acquire() is False
        assert (first.held, second.held) == (False, True)
        stored = await runtime.repos.leases.get("scheduler")
        assert stored is not None and stored["owner"] == "b:2"

        # when the holder stops, then the lease is free at once
        await second.stop()
        assert await first.try_acquire() is True
