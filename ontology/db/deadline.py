"""Deadlines of database work: PyMongo's client-side operation timeout, plus our own waits.

Inside ``deadline(seconds)`` every MongoDB command (in this task and in tasks
created from it, such as DataLoader batches) must finish before the deadline:
PyMongo sends ``maxTimeMS`` with each command and stops waiting for a reply at
the deadline, including a transaction's retries (``pymongo.timeout``). Waits of
our own on the way to the database (the per-group write lock of
``Database.in_transaction``) are bounded by the same deadline through
``remaining()``.

``is_timeout`` tells a deadline that passed from any other failure: PyMongo
marks such errors with ``timeout`` (``ExecutionTimeout``, ``NetworkTimeout``,
``ServerSelectionTimeoutError``, ``WTimeoutError``…), sometimes as the cause of
another exception.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import pymongo
from pymongo.errors import PyMongoError

_deadline: ContextVar[float | None] = ContextVar("database_deadline", default=None)


class DeadlineExceeded(Exception):
    """Database work could not start before its deadline (e.g. waiting for a lock)."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound the database work of this block to ``seconds`` (``None`` or 0: no bound)."""
    if not seconds:
        yield
        return
    ends = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(ends if outer is None else min(outer, ends))
    try:
        with pymongo.timeout(seconds):
            yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (may be negative); ``None`` without one."""
    ends = _deadline.get()
    return None if ends is None else ends - time.monotonic()


def is_timeout(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a database deadline that passed."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DeadlineExceeded):
            return True
        if isinstance(current, PyMongoError) and current.timeout:
            return True
        current = current.__cause__
    return False
