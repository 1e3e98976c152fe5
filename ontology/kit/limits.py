"""Size and shape limits on written data, taken from settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ontology.kit.errors import ErrorCode, ItemError
from ontology.kit.properties import check_json_object

NAME_MAX_LENGTH = 256
# Longest piece of a client's value quoted back in an error message: a 20 MB
# type name must not come back as a 20 MB message.
QUOTED_MAX_LENGTH = 64


@dataclass(frozen=True)
class WriteLimits:
    properties_max_bytes: int = 64 * 1024
    properties_max_depth: int = 10
    batch_max_items: int = 10_000

    def check_object(self, value: Any, path: str, index: int | None = None) -> list[ItemError]:
        return check_json_object(
            value,
            path,
            max_depth=self.properties_max_depth,
            max_bytes=self.properties_max_bytes,
            index=index,
        )


def check_name(name: str, path: str, index: int | None = None) -> tuple[str, list[ItemError]]:
    """The trimmed name, and an error when it is empty or too long."""
    trimmed = name.strip()
    if not trimmed:
        return trimmed, [ItemError(ErrorCode.INVALID_NAME, "Name must not be empty.", path, index)]
    if len(trimmed) > NAME_MAX_LENGTH:
        message = f"Name is {len(trimmed)} characters; the limit is {NAME_MAX_LENGTH}."
        return trimmed, [ItemError(ErrorCode.INVALID_NAME, message, path, index)]
    return trimmed, []


def quoted(value: str) -> str:
    """``repr(value)`` for an error message, cut to ``QUOTED_MAX_LENGTH`` characters."""
    if len(value) <= QUOTED_MAX_LENGTH:
        return repr(value)
    return f"{value[:QUOTED_MAX_LENGTH]!r}… ({len(value)} characters)"
