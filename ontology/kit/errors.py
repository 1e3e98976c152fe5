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
    RESERVED_EVENT_TYPE = "RESERVED_EVENT_TYPE"
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
    WEBHOOK_TARGET_REFUSED = "WEBHOOK_TARGET_REFUSED"


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
    # trusted documents (ONTOLOGY_TRUSTED_DOCUMENTS): an unknown document id, ids while
    # the mode is off, a raw document outside the manifest while it is required
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    UNTRUSTED_DOCUMENT = "UNTRUSTED_DOCUMENT"
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
    # subscriptions: too many open (per connection, key or group) or too much to replay
    SUBSCRIPTION_LIMIT = "SUBSCRIPTION_LIMIT"


class RunErrorCode(StrEnum):
    """Why a job run failed, as clients see it (``job_runs.errorCode``).

    The run's ``error`` holds the details (paths, buckets, exception text) for
    operators and the logs; clients get only the code and ``RUN_ERROR_MESSAGES``.
    """

    ARCHIVE_ACCESS_DENIED = "ARCHIVE_ACCESS_DENIED"
    ARCHIVE_UNAVAILABLE = "ARCHIVE_UNAVAILABLE"
    ARCHIVE_STORE_ERROR = "ARCHIVE_STORE_ERROR"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    OBJECT_CONFLICT = "OBJECT_CONFLICT"
    INTERRUPTED = "INTERRUPTED"
    INTERNAL = "INTERNAL"


RUN_ERROR_MESSAGES = {
    RunErrorCode.ARCHIVE_ACCESS_DENIED: "The archive store refused access.",
    RunErrorCode.ARCHIVE_UNAVAILABLE: "The archive store could not be reached or kept "
    "failing; the next run goes on from where this one stopped.",
    RunErrorCode.ARCHIVE_STORE_ERROR: "The archive store refused an operation.",
    RunErrorCode.CHECKSUM_MISMATCH: "An archive object did not match what was written; "
    "nothing was deleted.",
    RunErrorCode.OBJECT_CONFLICT: "An archive object with other content already exists; "
    "nothing was deleted.",
    RunErrorCode.INTERRUPTED: "The run stopped before it finished; the next run goes on.",
    RunErrorCode.INTERNAL: "The run failed; the operators have the details.",
}


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
