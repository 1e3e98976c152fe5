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


class PayloadErrorCode(StrEnum):
    """The base of every payload error code (``UserError.code`` in GraphQL).

    Each domain declares the codes only it raises next to its rules, as a
    member-less subclass of this one: ``ErrorCode`` below holds the codes every
    domain shares, ``PropertyErrorCode`` (``kit.properties``) the property
    checks, and the domain packages their own (``vocabulary.errors``,
    ``things.errors``, ``connections.errors``, ``events.errors``,
    ``ledger.errors``, ``batches.errors``, ``webhooks.errors``). The GraphQL
    layer assembles the one ``ErrorCode`` enum clients see from all of them
    (``ontology/api/errors.py``); a test fails when the two disagree.
    """


class ErrorCode(PayloadErrorCode):
    """Payload error codes every domain shares."""

    INVALID_INPUT = "INVALID_INPUT"
    INVALID_NAME = "INVALID_NAME"
    NOT_FOUND = "NOT_FOUND"
    INVALID_RANGE = "INVALID_RANGE"
    DUPLICATE = "DUPLICATE"
    CONFLICT = "CONFLICT"


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

    code: PayloadErrorCode
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
