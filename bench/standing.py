"""What keeping the quota standing costs a write, measured side by side in one run.

The same counter update of one created thing, each in its own transaction,
interleaved so all see the same machine load: the reservation pipeline with the
standing stages (``ontology.ledger.standing``), the same pipeline without them,
and a plain ``$inc``.

Run: python bench/standing.py [--updates N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from ontology.groups.models import Plan
from ontology.ledger.counters import CountDelta
from ontology.ledger.reservation import reservation_pipeline
from ontology.ledger.standing import PPM_FIELD
from ontology.runtime import open_runtime


def _is_standing(stage: dict[str, Any]) -> bool:
    body = stage.get("$set") or {}
    return PPM_FIELD in body or "usageKey" in body or stage.get("$unset") == PPM_FIELD


async def main(uri: str, updates: int) -> None:
    settings = Settings(
        mongodb_uri=uri, db_name=f"bench_{uuid.uuid4().hex[:8]}", data_dir=Path(tempfile.mkdtemp())
    )
    async with open_runtime(settings) as runtime:
        group = await runtime.services.groups.create(slug="bench", name="Bench", plan=Plan.PRO)
        group_id, groups = group["_id"], runtime.repos.accounts
        delta = CountDelta().things("creator", 1, 300, status="active")
        kept = reservation_pipeline(delta.fields, delta.newest, delta.oldest)
        bare = [stage for stage in kept if not _is_standing(stage)]
        variants: dict[str, Callable[[Any], Awaitable[Any]]] = {
            "with the standing": lambda s: groups.update_with_pipeline(group_id, kept, s),
            "without it": lambda s: groups.update_with_pipeline(group_id, bare, s),
            "plain $inc": lambda s: groups.apply_counts(group_id, delta, s),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(updates):
            for name, work in variants.items():
                start = time.perf_counter()
                await runtime.database.in_transaction(work)
                times[name].append((time.perf_counter() - start) * 1000)
        base = statistics.median(times["without it"])
        print(f"counter update in a transaction, median of {updates}:")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:18s} {median:6.2f} ms  ({median / base:.2f} x without)")
        await runtime.database.client.drop_database(settings.db_name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=300)
    server = EmbeddedServer(Path(tempfile.mkdtemp()))
    server.start()
    try:
        asyncio.run(main(server.uri, parser.parse_args().updates))
    finally:
        server.stop()
