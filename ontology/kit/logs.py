"""Structured logs: one JSON object per line on stderr.

Nothing logs a request's headers or variables. As a second line of defence the
formatter redacts anything shaped like an API key (``ont_…``) or a bearer
credential from every message, extra field and traceback, so a secret that
reaches a log by accident (say, inside an exception message) is not written.
While tracing is on (``ontology.kit.tracing``), a line written inside a span
carries its ``trace_id`` and ``span_id``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from ontology.kit.tracing import trace_ids

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

REDACTED = "[redacted]"
_SECRETS = re.compile(r"ont_[A-Za-z0-9_-]+|(?i:bearer)\s+[^\s\"',;<]+")


def redact(text: str) -> str:
    """``text`` with API keys and bearer credentials replaced by ``[redacted]``."""
    return _SECRETS.sub(REDACTED, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        ids = trace_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("ontology")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
