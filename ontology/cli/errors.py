"""What the CLI says when a command fails: one line naming the problem and the fix.

``ontology --debug …`` shows the traceback instead.
"""

from __future__ import annotations

from pydantic import ValidationError
from pymongo.errors import (
    ConfigurationError,
    ConnectionFailure,
    InvalidURI,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from ontology.db.client import TransactionsUnsupportedError
from ontology.db.embedded import EmbeddedServerError

UNAUTHORIZED = {13, 18}  # Unauthorized, AuthenticationFailed
DEBUG_HINT = "run with --debug for the traceback"


def one_line(error: BaseException) -> str:
    """The message for ``error``: what went wrong and what to do about it."""
    if isinstance(error, TransactionsUnsupportedError | EmbeddedServerError):
        return str(error)
    if isinstance(error, ValidationError):
        problems = []
        for item in error.errors():
            name = "ONTOLOGY_" + str(item["loc"][0]).upper() if item["loc"] else "a setting"
            problems.append(f"{name}: {item['msg']}")
        # Values are not echoed: a URI may hold a password.
        return f"Invalid setting {'; '.join(problems)}. Fix the environment variable."
    if isinstance(error, ServerSelectionTimeoutError):
        return (
            "Cannot reach MongoDB (no server answered in time). Check that it runs and that "
            "ONTOLOGY_MONGODB_URI names it, or unset it to use the embedded server."
        )
    if isinstance(error, InvalidURI | ConfigurationError):
        return f"ONTOLOGY_MONGODB_URI is not usable: {_first_line(error)}."
    if isinstance(error, ConnectionFailure):
        return f"Lost the connection to MongoDB ({_first_line(error)}). Check the server; retry."
    if isinstance(error, OperationFailure) and error.code in UNAUTHORIZED:
        return (
            f"MongoDB refused the request ({_first_line(error)}). Check the user, password "
            "and roles in ONTOLOGY_MONGODB_URI."
        )
    if isinstance(error, PermissionError):
        return f"Permission denied: {error.filename}. Check ONTOLOGY_DATA_DIR and file rights."
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror}: {error.filename}."
    return f"{type(error).__name__}: {_first_line(error)} ({DEBUG_HINT})."


def _first_line(error: BaseException) -> str:
    text = str(error).strip().rstrip(".")
    return text.splitlines()[0] if text else "no details"
