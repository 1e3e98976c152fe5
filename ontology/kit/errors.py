"""Error codes and the exceptions services raise.

Expected failures (validation, not found, duplicate, conflict, quota) are data:
services return or raise ``ItemError`` lists, and the GraphQL layer puts them in
mutation payloads. Authentication and authorization failures and bad arguments
to queries become top-level GraphQL errors with a code in ``extensions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    INVALID_NAME = "INVALID_NAME"
    INVALID_STATUS = "INVALID_STATUS"
    INVALID_PROPERTY_KEY = "INVALID_PROPERTY_KEY"
    PROPERTIES_TOO_DEEP = "PROPERTIES_TOO_DEEP"
    PROPERTIES_TOO_LARGE = "PROPERTIES_TOO_LARGE"
    INVALID_PROPERTIES = "INVALID_PROPERTIES"
    SCHEMA_MISMATCH = "SCHEMA_MISMATCH"
    NOT_FOUND = "NOT_FOUND"
    CONNECTION_NOT_ALLOWED = "CONNECTION_NOT_ALLOWED"
    SELF_LOOP = "SELF_LOOP"
    INVALID_RANGE = "INVALID_RANGE"
    DUPLICATE = "DUPLICATE"
    CONFLICT = "CONFLICT"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


class RequestErrorCode(StrEnum):
    """Codes of top-level errors (``errors[].extensions.code``), never payload errors."""

    # the HTTP request itself (before any GraphQL runs)
    BAD_REQUEST = "BAD_REQUEST"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    # too many requests of one key or group (HTTP 429 with Retry-After)
    RATE_LIMITED = "RATE_LIMITED"
    # the document (refused before any resolver runs)
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INVALID_PAGINATION = "INVALID_PAGINATION"
    NODE_LIMIT_EXCEEDED = "NODE_LIMIT_EXCEEDED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    # a field's arguments
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INVALID_CURSOR = "INVALID_CURSOR"
    # the database did not answer within the operation's deadline (ONTOLOGY_DB_TIMEOUT_MS)
    TIMEOUT = "TIMEOUT"
    # a bug, masked as "Unexpected error." with extensions.requestId
    INTERNAL = "INTERNAL"


@dataclass(frozen=True)
class ItemError:
    """One expected failure of one input item; ``path`` is camelCase and dotted."""

    code: ErrorCode
    message: str
    path: str
    index: int | None = None
    details: dict[str, Any] | None = None


class RejectedError(Exception):
    """A write was refused for expected reasons; nothing was written."""

    def __init__(self, errors: list[ItemError]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


class ClientError(Exception):
    """A request-level failure shown to the client unmasked, with a stable code."""

    code: str = RequestErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class AuthenticationError(ClientError):
    code = RequestErrorCode.UNAUTHENTICATED


class ForbiddenError(ClientError):
    code = RequestErrorCode.FORBIDDEN
