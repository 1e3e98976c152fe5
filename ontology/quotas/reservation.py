"""Atomic reservations on a group's counters.

Every write changes the group's ``counts`` in one update of the group document,
inside the write's transaction. For each enforced counter that grows, the
update checks ``current + n <= limit`` and applies all increments only if every
check passes; otherwise it records which metric refused in ``_quotaRefused``
and changes nothing, and the caller aborts the transaction. The check and the
increment are one atomic operation, so concurrent writers can never push a
counter past its limit, and a refused or failed write changes nothing.

The update filters on ``_id`` alone and carries the conditions in an update
pipeline: the plan and overrides are read from the document inside the same
update (no read first), and the filter stays a point lookup on every server.
"""

from __future__ import annotations

from typing import Any

from ontology.quotas.models import METRIC_OF_COUNTER, PlanBook

REFUSED_FIELD = "_quotaRefused"


def reservation_pipeline(book: PlanBook, increments: dict[str, int]) -> list[dict[str, Any]]:
    """The update pipeline applying ``increments`` (dotted field -> delta) within limits."""
    checks = []
    for field, amount in increments.items():
        metric = METRIC_OF_COUNTER.get(field)
        if metric is None or amount <= 0:
            continue
        limit = book.limit_expression(metric)
        within = {
            "$or": [
                {"$lt": [limit, 0]},
                {"$lte": [{"$add": [{"$ifNull": [f"${field}", 0]}, amount]}, limit]},
            ]
        }
        checks.append({"case": {"$not": [within]}, "then": metric.value})
    refused: Any = {"$switch": {"branches": checks, "default": None}} if checks else None
    passed = {"$eq": [f"${REFUSED_FIELD}", None]}
    return [
        {"$set": {REFUSED_FIELD: refused}},
        {
            "$set": {
                field: {
                    "$cond": [
                        passed,
                        {"$add": [{"$ifNull": [f"${field}", 0]}, amount]},
                        f"${field}",
                    ]
                }
                for field, amount in increments.items()
            }
        },
    ]
