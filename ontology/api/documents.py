"""Trusted documents: the operation documents of ``graphql/``, known by their SHA-256.

``ontology documents build`` writes the manifest (``trusted_documents.json``
beside this module: lowercase hex SHA-256 of a file's exact text → that text)
from the repository's ``graphql/`` folder; a test keeps the committed file equal
to a fresh build.

A client names a document instead of sending it, in either form:

- ``"documentId": "sha256:<hex>"`` (GraphQL over HTTP's persisted documents), in
  a POST body or as a GET query parameter;
- ``"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}``
  (Apollo's persisted queries).

``ONTOLOGY_TRUSTED_DOCUMENTS`` decides what the endpoint accepts:

- ``off``: raw documents only; a document id gets ``PERSISTED_QUERY_NOT_SUPPORTED``
  (an Apollo client then falls back to sending the document);
- ``allowed``: ids of the manifest and raw documents;
- ``required``: ids of the manifest, and raw documents whose exact text is in the
  manifest; any other document gets ``UNTRUSTED_DOCUMENT``.

An id not in the manifest gets ``PERSISTED_QUERY_NOT_FOUND``. A request with both
a document and an id must have the document's hash as its id. Nothing is
registered at run time: the manifest is the whole set.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ontology.kit.errors import RequestErrorCode

MANIFEST = Path(__file__).resolve().parent / "trusted_documents.json"
DOCUMENT_ID_PREFIX = "sha256:"
_HEX = re.compile(r"[0-9a-f]{64}")


class TrustedDocumentsMode(StrEnum):
    OFF = "off"
    ALLOWED = "allowed"
    REQUIRED = "required"


class DocumentRefused(Exception):
    """The request names or sends a document the endpoint does not run."""

    def __init__(self, code: RequestErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def document_hash(text: str) -> str:
    """The lowercase hex SHA-256 of a document's exact text (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


def build_manifest(directory: Path) -> dict[str, str]:
    """Hash → text for every ``*.graphql`` file of ``directory``."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.graphql"))]
    return {document_hash(text): text for text in texts}


def render_manifest(manifest: Mapping[str, str]) -> str:
    return json.dumps(dict(manifest), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_manifest(path: Path = MANIFEST) -> dict[str, str]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and _HEX.fullmatch(k) and isinstance(v, str) and document_hash(v) == k
        for k, v in loaded.items()
    ):
        raise ValueError(f"{path} is not a manifest of SHA-256 hex → document text.")
    return loaded


@dataclass(frozen=True)
class TrustedDocuments:
    mode: TrustedDocumentsMode
    manifest: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_mode(cls, mode: str) -> TrustedDocuments:
        chosen = TrustedDocumentsMode(mode)
        manifest = {} if chosen is TrustedDocumentsMode.OFF else load_manifest()
        return cls(chosen, manifest)

    def resolve(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """One operation of a request, its ``query`` filled in from its document id.

        Raises ``DocumentRefused`` for what the mode does not run.
        """
        resolved = dict(item)
        requested = _requested_hash(item)
        query = item.get("query")
        if requested is None:
            if (
                self.mode is TrustedDocumentsMode.REQUIRED
                and isinstance(query, str)
                and document_hash(query) not in self.manifest
            ):
                raise DocumentRefused(
                    RequestErrorCode.UNTRUSTED_DOCUMENT,
                    "Only trusted documents run here: send a documentId "
                    '("sha256:<hex>") from the manifest, or a document of it verbatim.',
                )
            return resolved
        if self.mode is TrustedDocumentsMode.OFF:
            raise DocumentRefused(
                RequestErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
                "Document ids are not accepted here (ONTOLOGY_TRUSTED_DOCUMENTS=off): "
                "send the document as query.",
            )
        if isinstance(query, str) and query:
            if document_hash(query) != requested:
                raise DocumentRefused(
                    RequestErrorCode.BAD_REQUEST,
                    "The document id is not the SHA-256 of the query sent with it.",
                )
            if self.mode is TrustedDocumentsMode.REQUIRED and requested not in self.manifest:
                raise DocumentRefused(
                    RequestErrorCode.UNTRUSTED_DOCUMENT,
                    "Only trusted documents run here; this one is not in the manifest.",
                )
            return resolved
        document = self.manifest.get(requested)
        if document is None:
            raise DocumentRefused(
                RequestErrorCode.PERSISTED_QUERY_NOT_FOUND,
                f"No trusted document has the id {DOCUMENT_ID_PREFIX}{requested}.",
            )
        resolved["query"] = document
        return resolved


def _requested_hash(item: Mapping[str, Any]) -> str | None:
    """The hex hash an operation names (``documentId`` or Apollo's), or None."""
    bad = DocumentRefused(
        RequestErrorCode.BAD_REQUEST,
        'A documentId is "sha256:" and 64 lowercase hex digits; Apollo\'s '
        "extensions.persistedQuery.sha256Hash is the 64 digits.",
    )
    found: str | None = None
    document_id = item.get("documentId")
    if document_id is not None:
        if not isinstance(document_id, str) or not document_id.startswith(DOCUMENT_ID_PREFIX):
            raise bad
        found = document_id.removeprefix(DOCUMENT_ID_PREFIX)
        if not _HEX.fullmatch(found):
            raise bad
    extensions = item.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is not None:
        apollo = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(apollo, str) or not _HEX.fullmatch(apollo):
            raise bad
        if found is not None and found != apollo:
            raise DocumentRefused(
                RequestErrorCode.BAD_REQUEST,
                "documentId and extensions.persistedQuery.sha256Hash name different documents.",
            )
        found = apollo
    return found
