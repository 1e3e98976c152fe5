"""Fault injection into an archival run: where a run may be stopped, and the hook.

An archival batch moves events to cold storage in steps, and each step must
leave a state the next run recovers from (DESIGN.md section 9). To prove it,
``ArchivalService.faults`` is awaited at each ``FaultPoint`` with the batch's
manifest; production uses ``no_faults``. A test passes its own hook to
``ArchivalService.with_options(faults=...)`` and raises at a point to simulate
a crash there (``tests/archival/support.py: CrashAt``), or does something
concurrent there (another client's write, a clock moved past the run's budget).
The hook cannot change what the run does otherwise.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from ontology.archival.documents import ManifestDocument


class FaultPoint(StrEnum):
    """The moments of one archival batch, in the order a batch reaches them."""

    # the batch is chosen and its manifest built, nothing written yet
    BEFORE_MANIFEST = "before_manifest"
    # the manifest is stored (PENDING), the object not yet uploaded
    AFTER_MANIFEST = "after_manifest"
    # the object is uploaded, not yet checked with HEAD
    AFTER_UPLOAD = "after_upload"
    # the object is verified (size and checksum), the events still hot
    AFTER_VERIFY = "after_verify"
    # inside the commit transaction: the manifest marked done and its events deleted,
    # the counters not yet changed; nothing is committed (a crash rolls it all back)
    DURING_DELETE = "during_delete"


class FaultHook(Protocol):
    """Called at each ``FaultPoint`` of each batch with that batch's manifest."""

    async def __call__(self, point: FaultPoint, manifest: ManifestDocument) -> None: ...


async def no_faults(point: FaultPoint, manifest: ManifestDocument) -> None:
    """The production hook: does nothing."""
