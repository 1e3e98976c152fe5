"""Relay global ids: ``base64url("<Type>:<ObjectId hex>")`` without padding.

A malformed id, or one of another type, decodes to ``None`` so callers treat it
exactly like an id that does not exist.
"""

from __future__ import annotations

import base64
import binascii

from bson import ObjectId
from bson.errors import InvalidId


def to_global_id(type_name: str, object_id: ObjectId) -> str:
    raw = f"{type_name}:{object_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def from_global_id(global_id: str) -> tuple[str, ObjectId] | None:
    if not isinstance(global_id, str) or len(global_id) > 100:
        return None
    padded = global_id + "=" * (-len(global_id) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
        type_name, _, hex_id = raw.partition(":")
        return type_name, ObjectId(hex_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, InvalidId, TypeError):
        return None


def parse_global_id(global_id: str, expected_type: str) -> ObjectId | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != expected_type:
        return None
    return decoded[1]
