"""Rules for user-supplied JSON (``properties``, ``metadata``): keys, numbers, depth, size.

Keys must match ``^[A-Za-z_][A-Za-z0-9_]*$``: no ``$`` (operators) and no ``.``
(paths), so stored documents can always be queried and updated safely. Nesting
is counted in objects and arrays, the top-level object being level 1; size is
the BSON-encoded size, which is what MongoDB stores.
"""

from __future__ import annotations

import math
import re
from typing import Any

import bson

from ontology.kit.errors import ItemError, PayloadErrorCode


class PropertyErrorCode(PayloadErrorCode):
    """Why user-supplied JSON (``properties``, ``metadata``) was refused."""

    INVALID_PROPERTY_KEY = "INVALID_PROPERTY_KEY"
    PROPERTIES_TOO_DEEP = "PROPERTIES_TOO_DEEP"
    PROPERTIES_TOO_LARGE = "PROPERTIES_TOO_LARGE"
    INVALID_PROPERTIES = "INVALID_PROPERTIES"


# matched with fullmatch: ``$`` alone would also accept a trailing newline
KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_KEY_ERRORS = 10


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def is_non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def non_finite(path: str, index: int | None) -> ItemError:
    # NaN and infinities are not JSON: stored, they would make every response that
    # contains them invalid JSON, and sums over them meaningless.
    message = "Numbers must be finite (NaN and infinities are not JSON numbers)."
    return ItemError(PropertyErrorCode.INVALID_PROPERTIES, message, path, index)


def encoded_size(value: dict[str, Any]) -> int:
    return len(bson.encode(value))


def check_json_object(
    value: Any, path: str, *, max_depth: int, max_bytes: int, index: int | None = None
) -> list[ItemError]:
    """Every rule violation in ``value`` (at most a few of each kind), or ``[]``."""
    if not isinstance(value, dict):
        return [
            ItemError(PropertyErrorCode.INVALID_PROPERTIES, "Must be a JSON object.", path, index)
        ]
    errors: list[ItemError] = []
    too_deep: list[str] = []
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        node, node_path, depth = stack.pop()
        if depth > max_depth:
            if not too_deep:
                too_deep.append(node_path)
            continue
        if isinstance(node, dict):
            for key, child in node.items():
                child_path = f"{node_path}.{key}"
                if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
                    if len(errors) < _MAX_KEY_ERRORS:
                        shown = repr(key)[:60]
                        errors.append(
                            ItemError(
                                PropertyErrorCode.INVALID_PROPERTY_KEY,
                                f"Key {shown} is not allowed: keys match "
                                "^[A-Za-z_][A-Za-z0-9_]*$ (no '$', no '.').",
                                f"{node_path}.{str(key)[:60]}",
                                index,
                            )
                        )
                    continue
                if isinstance(child, (dict, list)):
                    stack.append((child, child_path, depth + 1))
                elif is_non_finite(child) and len(errors) < _MAX_KEY_ERRORS:
                    errors.append(non_finite(child_path, index))
        else:
            for position, child in enumerate(node):
                child_path = f"{node_path}.{position}"
                if isinstance(child, (dict, list)):
                    stack.append((child, child_path, depth + 1))
                elif is_non_finite(child) and len(errors) < _MAX_KEY_ERRORS:
                    errors.append(non_finite(child_path, index))
    if too_deep:
        errors.append(
            ItemError(
                PropertyErrorCode.PROPERTIES_TOO_DEEP,
                f"Nesting deeper than {max_depth} levels.",
                too_deep[0],
                index,
            )
        )
    if errors:
        return errors
    try:
        size = encoded_size(value)
    except (OverflowError, bson.errors.InvalidDocument) as exc:
        return [
            ItemError(PropertyErrorCode.INVALID_PROPERTIES, f"Cannot be stored: {exc}", path, index)
        ]
    if size > max_bytes:
        return [
            ItemError(
                PropertyErrorCode.PROPERTIES_TOO_LARGE,
                f"Encoded size {size} bytes exceeds the limit of {max_bytes} bytes.",
                path,
                index,
            )
        ]
    return []
