"""Per-operation accounting of database work.

A PyMongo command listener adds every command it sees to the ``CommandCost`` held
in a context variable. The GraphQL extension sets a fresh one per operation;
DataLoader tasks copy the context when they are created, so their commands are
counted against the operation that caused them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pymongo import monitoring


@dataclass
class CommandCost:
    commands: int = 0
    documents_read: int = 0
    command_names: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    @property
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def as_extension(self) -> dict[str, Any]:
        return {
            "dbCommands": self.commands,
            "documentsRead": self.documents_read,
            "ms": round(self.elapsed_ms, 2),
        }


current_cost: ContextVar[CommandCost | None] = ContextVar("current_cost", default=None)


@contextmanager
def track_cost() -> Iterator[CommandCost]:
    """Count the commands sent in this context (and in tasks created from it)."""
    cost = CommandCost()
    token = current_cost.set(cost)
    try:
        yield cost
    finally:
        current_cost.reset(token)


def _documents_in(reply: Mapping[str, Any]) -> int:
    """Documents in a reply: a cursor batch's length (an aggregate's group counts once)."""
    cursor = reply.get("cursor")
    if isinstance(cursor, Mapping):
        batch = cursor.get("firstBatch", cursor.get("nextBatch", []))
        return len(batch) if isinstance(batch, list) else 0
    if reply.get("value") is not None:  # findAndModify
        return 1
    return 0


class CostListener(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        cost = current_cost.get()
        if cost is not None:
            cost.commands += 1
            cost.command_names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cost = current_cost.get()
        if cost is not None:
            cost.documents_read += _documents_in(event.reply)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None
