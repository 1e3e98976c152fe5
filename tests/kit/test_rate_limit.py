"""Token buckets: bursts, refill, waits, and memory that stays bounded."""

from __future__ import annotations

import pytest

from ontology.kit.rate_limit import TokenBuckets, retry_after_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_rate_applies() -> None:
    clock = Clock()
    buckets = TokenBuckets[str](per_second=2, burst=3, clock=clock)

    # given an idle key, three requests at once pass and the fourth waits half a second
    assert [buckets.take("a") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    assert buckets.wait("a") == 0.5
    # a quarter second later it waits a quarter more; another key is not affected
    clock.now += 0.25
    assert buckets.take("a") == 0.25
    assert buckets.take("b") == 0.0
    # after the wait one request passes, and only one
    clock.now += 0.25
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.5]


def test_wait_neither_spends_nor_creates() -> None:
    buckets = TokenBuckets[str](per_second=1, burst=1, clock=Clock())

    assert buckets.wait("a") == 0.0
    assert len(buckets) == 0
    assert buckets.take("a") == 0.0
    assert buckets.wait("a") == 1.0
    assert buckets.wait("a") == 1.0


def test_refilled_buckets_are_forgotten_and_memory_is_capped() -> None:
    clock = Clock()
    buckets = TokenBuckets[int](per_second=1, burst=2, max_buckets=100, clock=clock)

    # given 100 keys that each sent one request, memory holds 100 buckets
    for key in range(100):
        buckets.take(key)
    assert len(buckets) == 100
    # a 101st key is let in and the least recently used bucket is forgotten
    assert buckets.take(100) == 0.0
    assert len(buckets) == 100
    # once the old buckets have refilled, each new request sweeps two of them away
    clock.now += 1
    for key in range(200, 230):
        buckets.take(key)
    assert len(buckets) == 100 + 30 - 60


def test_forgetting_a_bucket_never_refuses_anyone() -> None:
    clock = Clock()
    buckets = TokenBuckets[int](per_second=1, burst=1, max_buckets=1, clock=clock)

    assert buckets.take(1) == 0.0
    assert buckets.take(2) == 0.0  # key 1's empty bucket is dropped to make room
    assert buckets.take(1) == 0.0  # so key 1 starts over with a full one


@pytest.mark.parametrize(
    ("wait", "header"), [(0.0, 1), (0.001, 1), (1.0, 1), (1.01, 2), (99.5, 100)]
)
def test_retry_after_is_whole_seconds_and_at_least_one(wait: float, header: int) -> None:
    assert retry_after_seconds(wait) == header


def test_a_rate_of_zero_is_not_a_bucket() -> None:
    with pytest.raises(ValueError, match="per_second > 0"):
        TokenBuckets[str](per_second=0, burst=1)
