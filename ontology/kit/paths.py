"""Dotted paths into nested documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The leaves of ``doc`` by dotted path: ``{"a": {"b": 1}}`` as ``{"a.b": 1}``, or
    under ``prefix`` as ``{"prefix.a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat
