"""A group's quota standing, stored on its document so staff can list groups by it.

``usageKey`` is ``"<13-digit usage in parts per million>:<_id hex>"``: the
highest fraction of a limit the group's counters use, over the metrics enforced
on the group document (users, storage, entities, connections), times 10⁶ and
capped at ``PPM_CAP``, followed by the id so keys are unique. It has the shape
of an event's ``sortKey``, so a list ordered by usage is walked in bounded
windows like any other (``ontology.db.windows.EVENT_KEYS``). ``quotaStatus`` is
the level of that fraction (``HEALTHY``, ``WARNING``, ``CRITICAL``,
``EXCEEDED``), kept for filters on lists ordered by name.

Both are recomputed from ``counts`` and ``quota`` by stages (``standing_stages``)
at the end of every update that changes a counter or a limit, in that same
update: exact after every write, no extra command.
``standing_fields`` computes the same in Python (new groups, the start-up sync).

API calls per month are not part of it: they are counted in memory and flushed
to ``usage`` once a second, never on the group document, so listing by usage
and the ``status`` filter reflect the stored counters only (a group's report
still shows its API calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypedDict

from ontology.ledger.plans import (
    COUNTER_FIELDS,
    CRITICAL_PERCENT,
    EXCEEDED_PERCENT,
    WARNING_PERCENT,
)

USAGE_KEY: Final = "usageKey"
QUOTA_STATUS: Final = "quotaStatus"
PPM = 1_000_000
# 9,999.9999 % of a limit: far beyond any real overshoot, and a small key space to walk
PPM_CAP = 99_999_999
DIGITS = 13

# The stored levels, worst first, with the usage (ppm) each starts at.
LEVELS: tuple[tuple[str, int], ...] = (
    ("EXCEEDED", int(EXCEEDED_PERCENT * PPM / 100)),
    ("CRITICAL", int(CRITICAL_PERCENT * PPM / 100)),
    ("WARNING", int(WARNING_PERCENT * PPM / 100)),
    ("HEALTHY", 0),
)


def level_of(ppm: int) -> str:
    return next(name for name, start in LEVELS if ppm >= start)


def ppm_range(level: str) -> tuple[int, int]:
    """The usage (ppm) of a level: ``[lo, hi)``."""
    upper = PPM_CAP + 1
    for name, start in LEVELS:
        if name == level:
            return start, upper
        upper = start
    raise ValueError(f"unknown level {level!r}")


def usage_key(ppm: int, group_id: Any) -> str:
    return f"{ppm:0{DIGITS}d}:{group_id}"


def usage_ppm(group: Mapping[str, Any]) -> int:
    """The group's highest usage of an enforced limit, in parts per million."""
    counts = group.get("counts") or {}
    quota = group.get("quota") or {}
    highest = 0
    for metric, field in COUNTER_FIELDS.items():
        limit = int(quota.get(metric.value, -1))
        current = int(counts.get(field.removeprefix("counts."), 0) or 0)
        if limit < 0:
            continue
        # a limit of 0 allows nothing: exceeded from the start (``quota_level``)
        used = PPM if limit == 0 else current * PPM // limit
        highest = max(highest, used)
    return min(highest, PPM_CAP)


class Standing(TypedDict):
    """A group's standing fields (``GroupDocument.usageKey``, ``.quotaStatus``)."""

    usageKey: str
    quotaStatus: str


def standing_fields(group: Mapping[str, Any]) -> Standing:
    """``usageKey`` and ``quotaStatus`` of a group document, as ``standing_stages`` set them."""
    ppm = usage_ppm(group)
    return {USAGE_KEY: usage_key(ppm, group["_id"]), QUOTA_STATUS: level_of(ppm)}


def _ppm_expression() -> dict[str, Any]:
    used = []
    for metric, field in COUNTER_FIELDS.items():
        limit = {"$ifNull": [f"$quota.{metric.value}", -1]}
        current = {"$ifNull": [f"${field}", 0]}
        used.append(
            {
                "$switch": {
                    "branches": [
                        {"case": {"$lt": [limit, 0]}, "then": 0},
                        {"case": {"$eq": [limit, 0]}, "then": PPM},
                    ],
                    # multiplied first, so 4 of 5 is exactly 800,000
                    "default": {"$floor": {"$divide": [{"$multiply": [current, PPM]}, limit]}},
                }
            }
        )
    return {"$toLong": {"$min": [{"$max": used}, PPM_CAP]}}


# Scratch field: the usage computed once, read by the next stage, then removed.
PPM_FIELD = "_standingPpm"


def standing_stages(applied: str | None = None) -> list[dict[str, Any]]:
    """The stages recomputing both fields from the document as the stages before them left
    it: the usage once into a scratch field, the two fields from it, the scratch field
    removed. With ``applied`` (a boolean field path), only where it is true (a refused
    reservation must modify nothing).

    On the embedded server, whose expressions are evaluated in Python, this adds about
    2 ms to a counter update (``bench/standing.py``); computing the usage once rather
    than for each field saves about half of what it cost.
    """
    ppm = f"${PPM_FIELD}"
    digits = {"$toString": ppm}
    key = {
        "$concat": [
            {"$substrBytes": ["0" * DIGITS, 0, {"$subtract": [DIGITS, {"$strLenBytes": digits}]}]},
            digits,
            ":",
            {"$toString": "$_id"},
        ]
    }
    status = {
        "$switch": {
            "branches": [{"case": {"$gte": [ppm, start]}, "then": name} for name, start in LEVELS],
            "default": "HEALTHY",
        }
    }
    usage = _ppm_expression()
    fields: dict[str, Any] = {USAGE_KEY: key, QUOTA_STATUS: status}
    if applied is not None:
        usage = {"$cond": [applied, usage, None]}
        fields = {name: {"$cond": [applied, value, f"${name}"]} for name, value in fields.items()}
    return [{"$set": {PPM_FIELD: usage}}, {"$set": fields}, {"$unset": PPM_FIELD}]
