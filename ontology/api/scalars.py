"""Date and time scalars with a range, so no date a client sends can overflow.

Python dates end at year 9999 and start at year 1: ``0001-01-01T00:00:00+01:00``
cannot be converted to UTC, and a range ending at ``9999-12-31T23:59`` cannot
be bucketed. Event sort keys are zero-padded milliseconds since 1970 (13 digits
last until 2286). So every ``DateTime`` and ``Date`` argument lies from
1970-01-01 (inclusive) to 2200-01-01 (exclusive); anything else is refused like
any other malformed value (``BAD_USER_INPUT`` in variables,
``GRAPHQL_VALIDATION_FAILED`` as a literal). The names, descriptions and
formats are strawberry's own, so the SDL does not change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
RANGE = "from 1970-01-01T00:00:00Z to before 2200-01-01T00:00:00Z"


def parse_datetime(value: object) -> datetime:
    assert DateTimeDefinition.parse_value is not None
    parsed: datetime = DateTimeDefinition.parse_value(value)
    # a naive value is compared as UTC; services refuse it where a zone is needed
    moment = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if not EARLIEST <= moment < LATEST:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". It must be {RANGE}.'
        )
    return parsed


def parse_date(value: object) -> date:
    assert DateDefinition.parse_value is not None
    parsed: date = DateDefinition.parse_value(value)
    if not EARLIEST.date() <= parsed < LATEST.date():
        raise StrawberryInputCoercionError(
            f'Value cannot represent a Date: "{value}". It must be from 1970-01-01 '
            "to before 2200-01-01."
        )
    return parsed


SCALAR_OVERRIDES: dict[object, Any] = {  # ScalarDefinition is a dataclass
    datetime: replace(DateTimeDefinition, parse_value=parse_datetime),
    date: replace(DateDefinition, parse_value=parse_date),
}
