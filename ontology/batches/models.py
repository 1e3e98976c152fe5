"""Batch requests and results."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ontology.batches.errors import item_code
from ontology.kit.errors import ItemError


class ErrorPolicy(StrEnum):
    REJECT_EVERYTHING = "REJECT_EVERYTHING"
    REJECT_FAILED_ROWS = "REJECT_FAILED_ROWS"


class ItemStatus(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    FAILED = "FAILED"
    NOT_WRITTEN = "NOT_WRITTEN"  # valid, but the batch was rejected as a whole


@dataclass
class ItemResult:
    index: int
    status: ItemStatus
    id: str | None = None
    errors: list[ItemError] = field(default_factory=list)


@dataclass
class BatchResult:
    results: list[ItemResult]
    errors: list[ItemError]
    batch_event_id: str | None = None
    replayed: bool = False  # the stored answer to an earlier request with the same key

    @property
    def succeeded(self) -> int:
        return sum(
            r.status in (ItemStatus.CREATED, ItemStatus.UPDATED, ItemStatus.UNCHANGED)
            for r in self.results
        )

    @property
    def failed(self) -> int:
        return sum(r.status is ItemStatus.FAILED for r in self.results)

    def to_document(self) -> dict[str, Any]:
        """A storable form (idempotency keys keep the result of the first request)."""
        return {
            "results": [
                {
                    "index": r.index,
                    "status": r.status.value,
                    "id": r.id,
                    "errors": _errors(r.errors),
                }
                for r in self.results
            ],
            "errors": _errors(self.errors),
            "batchEventId": self.batch_event_id,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> BatchResult:
        return cls(
            results=[
                ItemResult(
                    index=r["index"],
                    status=ItemStatus(r["status"]),
                    id=r["id"],
                    errors=[_error(e) for e in r["errors"]],
                )
                for r in doc["results"]
            ],
            errors=[_error(e) for e in doc["errors"]],
            batch_event_id=doc.get("batchEventId"),
        )


def _errors(errors: list[ItemError]) -> list[dict[str, Any]]:
    return [
        {
            "code": e.code.value,
            "message": e.message,
            "path": e.path,
            "index": e.index,
            "details": e.details,
        }
        for e in errors
    ]


def _error(doc: dict[str, Any]) -> ItemError:
    return ItemError(
        item_code(doc["code"]), doc["message"], doc["path"], doc["index"], doc.get("details")
    )


def request_fingerprint(operation: str, payload: Any) -> str:
    """A stable hash of a batch request, to tell a retry from a different request."""
    canonical = json.dumps([operation, payload], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
