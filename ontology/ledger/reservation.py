"""Atomic reservations on a group's counters.

Every write changes the group's ``counts`` in one update of the group document,
inside the write's transaction. For each enforced counter that grows, the
update checks ``current + n <= limit`` and applies all increments only if every
check passes; otherwise it records which metric refused in ``_quotaRefused``
and changes nothing, and the caller aborts the transaction. The check and the
increment are one atomic operation, so concurrent writers can never push a
counter past its limit, and a refused or failed write changes nothing.

The update filters on ``_id`` alone and carries the conditions in an update
pipeline comparing the counters with the limits stored in the same document
(``quota``, kept in step with the plan and overrides): no read first, and the
filter stays a point lookup on every server.
"""

from __future__ import annotations

from typing import Any

from ontology.ledger.plans import LEASED_OF_COUNTER, METRIC_OF_COUNTER
from ontology.ledger.standing import standing_stages

# Scratch field: set by the first stage, removed by the last one.
CHECK_FIELD = "_quotaOk"


def reservation_pipeline(
    increments: dict[str, int],
    newest: dict[str, Any] | None = None,
    oldest: dict[str, Any] | None = None,
    *,
    enforce: bool = True,
) -> list[dict[str, Any]]:
    """The update pipeline applying ``increments`` (dotted field -> delta) within limits
    (without checks unless ``enforce``), raising each ``newest`` field to its key and
    lowering each ``oldest`` one, then recomputing the group's quota standing
    (``ontology.ledger.standing``).

    It modifies the document exactly when every check passes.
    """
    checks: list[Any] = [True]
    for field, amount in increments.items() if enforce else ():
        if field in METRIC_OF_COUNTER and amount > 0:
            checks.append(within_limit(field, amount))
    passed = f"${CHECK_FIELD}"
    return [
        {"$set": {CHECK_FIELD: {"$and": checks}}},
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
            | {
                field: {"$cond": [passed, {"$max": [f"${field}", key]}, f"${field}"]}
                for field, key in (newest or {}).items()
            }
            | {
                field: {"$cond": [passed, {"$min": [f"${field}", key]}, f"${field}"]}
                for field, key in (oldest or {}).items()
            }
        },
        *standing_stages(passed),
        {"$unset": CHECK_FIELD},
    ]


def within_limit(field: str, amount: int) -> dict[str, Any]:
    """Whether ``amount`` more of the enforced counter ``field`` fits its limit, with what
    processes have leased of it (``LEASED_OF_COUNTER``): an aggregation expression on the
    group document (a missing or negative limit is no limit)."""
    limit = f"$quota.{METRIC_OF_COUNTER[field].value}"
    used = [{"$ifNull": [f"${path}", 0]} for path in (field, LEASED_OF_COUNTER[field])]
    return {"$or": [{"$lt": [limit, 0]}, {"$lte": [{"$add": [*used, amount]}, limit]}]}
