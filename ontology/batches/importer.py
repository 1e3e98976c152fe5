"""Reading things to import from CSV, JSON or JSON Lines, in chunks.

Each row becomes a ``NewThing``: ``type`` (or the ``--type`` default), ``name``,
``status`` and ``properties``. In CSV, a ``properties`` column holds a JSON
object; every other column becomes a string property. A row that cannot be read
becomes a ``RowError`` and is reported, not imported.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Any

from ontology.things.models import DEFAULT_STATUS, NewThing

RESERVED_COLUMNS = ("type", "name", "status", "properties")


class ImportFormat(StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


@dataclass(frozen=True)
class RowError:
    row: int
    message: str


Row = tuple[int, NewThing | RowError]


def detect_format(path: Path) -> ImportFormat:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson"):
        return ImportFormat.jsonl
    if suffix == "json":
        return ImportFormat.json
    return ImportFormat.csv


def count_rows(path: Path, fmt: ImportFormat) -> int | None:
    """Rows in the file (for the progress bar), without parsing them."""
    if fmt is ImportFormat.json:
        return None
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(0, lines - 1) if fmt is ImportFormat.csv else lines


def read_rows(path: Path, fmt: ImportFormat, default_type: str | None) -> Iterator[Row]:
    """(row number, thing or error), row numbers counting data rows from 1."""
    if fmt is ImportFormat.csv:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for number, record in enumerate(csv.DictReader(handle), start=1):
                yield number, _from_csv(record, default_type, number)
    elif fmt is ImportFormat.jsonl:
        with path.open(encoding="utf-8") as handle:
            number = 0
            for line in handle:
                if not line.strip():
                    continue
                number += 1
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    yield number, RowError(number, f"Not valid JSON: {error.msg}.")
                    continue
                yield number, _from_object(record, default_type, number)
    else:
        records = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(records, list):
            raise ValueError("A JSON import file must hold an array of objects.")
        for number, record in enumerate(records, start=1):
            yield number, _from_object(record, default_type, number)


def chunked(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _from_object(record: Any, default_type: str | None, number: int) -> NewThing | RowError:
    if not isinstance(record, dict):
        return RowError(number, "Each row must be a JSON object.")
    thing_type = record.get("type") or default_type
    if not isinstance(thing_type, str):
        return RowError(number, "No type: give a `type` field or --type.")
    return NewThing(
        type=thing_type,
        name=str(record.get("name", "")),
        properties=record.get("properties", {}),
        status=str(record.get("status") or DEFAULT_STATUS),
    )


def _from_csv(record: dict[str, str], default_type: str | None, number: int) -> NewThing | RowError:
    properties: Any = {k: v for k, v in record.items() if k not in RESERVED_COLUMNS and k}
    if record.get("properties"):
        try:
            properties = {**properties, **json.loads(record["properties"])}
        except (json.JSONDecodeError, TypeError):
            return RowError(number, "The properties column must hold a JSON object.")
    return _from_object(
        {
            "type": record.get("type") or default_type,
            "name": record.get("name", ""),
            "status": record.get("status"),
            "properties": properties,
        },
        default_type,
        number,
    )
