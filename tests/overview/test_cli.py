"""``ontology groups list`` as an operator runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from ontology.groups.models import Plan
from ontology.ledger.plans import Metric
from ontology.runtime import Runtime
from ontology.things.models import NewThing
from tests.factories import make_tenant

ONTOLOGY = str(Path(sys.executable).parent / "ontology")


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ONTOLOGY_MONGODB_URI": settings.mongodb_uri or "", "ONTOLOGY_DB_NAME": settings.db_name}
    return subprocess.run(
        [ONTOLOGY, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


async def test_groups_list_pages_through_every_group_and_finds_those_near_a_limit(
    runtime: Runtime, settings: Settings, mongo_server: EmbeddedServer
) -> None:
    # given four groups: two near their entities limit, two far from it
    usage = {"near": (5, 4), "over": (2, 2), "far": (10, 1), "empty": (10, 0)}
    for slug, (limit, things) in usage.items():
        tenant = await make_tenant(runtime, slug, Plan.STARTER)
        await runtime.services.quotas.set_limit(tenant.id, Metric.ENTITIES_TOTAL, limit)
        for i in range(things):
            await runtime.services.things.create(
                tenant.id, NewThing(type="creator", name=f"T{i}", properties={}, status="active")
            )

    # when listing near-limit groups, every group by name, one group a page, and a table
    near = cli(settings, "groups", "list", "--near-limit", "--page-size", "1", "--json")
    by_name = cli(settings, "groups", "list", "--order", "NAME", "--page-size", "1", "--json")
    table = cli(settings, "groups", "list", "--near-limit")
    wrong = cli(settings, "groups", "list", "--near-limit", "--order", "NAME")

    # then near-limit lists exactly those at 80 % or more, highest first, with their report
    assert near.returncode == 0, near.stderr
    listed = json.loads(near.stdout)["groups"]
    assert [(g["slug"], g["usagePercent"], g["quotaStatus"]) for g in listed] == [
        ("over", 100.0, "EXCEEDED"),
        ("near", 80.0, "WARNING"),
    ]
    # (4 thing_created events and the quota_alert of crossing 80 %)
    assert listed[1]["counts"] == {
        "things": 4,
        "connections": 0,
        "events": 5,
        "people": 0,
        "knowledge": 0,
        "storageBytes": listed[1]["counts"]["storageBytes"],
    }
    assert [(q["metric"], q["current"], q["limit"], q["status"]) for q in listed[1]["quotas"]][
        3
    ] == ("entities_total", 4.0, 5, "WARNING")
    assert listed[1]["lastArchivalRun"] is None
    # ... every group once by name ...
    assert by_name.returncode == 0, by_name.stderr
    assert [g["slug"] for g in json.loads(by_name.stdout)["groups"]] == [
        "empty",
        "far",
        "near",
        "over",
    ]
    # ... the table names them ...
    assert table.returncode == 0, table.stderr
    assert [line.split()[1] for line in table.stdout.splitlines() if "%" in line] == [
        "over",
        "near",
    ]
    # ... and a contradictory request is a one-line error
    assert (wrong.returncode, wrong.stderr.strip()) == (
        1,
        "error: --near-limit lists by usage: leave --order out.",
    )
