"""``ontology counters check`` as an operator runs it (a subprocess), and the weekly job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ontology.config import Settings
from ontology.jobs.counters import check_counters
from ontology.kit.ids import parse_global_id
from tests.counters.test_check import corrupt, small_graph
from tests.factories import Api, make_tenant, true_counts
from tests.quotas.support import stored_counts

ONTOLOGY = str(Path(sys.executable).parent / "ontology")


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ONTOLOGY_MONGODB_URI": str(settings.mongodb_uri),
        "ONTOLOGY_DB_NAME": settings.db_name,
        "ONTOLOGY_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run([ONTOLOGY, *args], env=env, capture_output=True, text=True, timeout=120)


async def test_check_and_repair_from_the_command_line(api: Api, settings: Settings) -> None:
    # given a corrupted group and a clean one
    tenant = await make_tenant(api.runtime, "acme")
    await make_tenant(api.runtime, "other")
    ids = await small_graph(api, tenant)
    ada = parse_global_id(ids["ada"], "Thing")
    assert ada is not None
    await corrupt(api, tenant.id, ada)

    # when
    checked = cli(settings, "counters", "check", "--json")
    one = cli(settings, "counters", "check", "--group", "other", "--json")
    text = cli(settings, "counters", "check", "--group", "acme", "--batch-size", "2")
    repaired = cli(settings, "counters", "check", "--group", "acme", "--repair", "--json")
    clean = cli(settings, "counters", "check")
    missing = cli(settings, "counters", "check", "--group", "nope")

    # then
    assert checked.returncode == 1, checked.stderr
    report = json.loads(checked.stdout)
    assert report["drifts"] == 9 and report["repaired"] is False
    assert [(g["group"], len(g["drifts"])) for g in report["groups"]] == [("acme", 9), ("other", 0)]
    assert report["groups"][0]["drifts"][0] == {"what": "counts.things", "stored": 8, "true": 3}
    assert (one.returncode, json.loads(one.stdout)["drifts"]) == (0, 0)
    assert text.returncode == 1
    assert "counts.thingsByStatus.draft" in text.stdout
    assert "1 groups checked, 9 drifts found in 1 groups" in text.stdout
    assert repaired.returncode == 0, repaired.stderr
    assert json.loads(repaired.stdout)["repaired"] is True
    assert clean.returncode == 0, clean.stderr
    assert "2 groups checked, 0 drifts found in 0 groups" in clean.stdout
    assert await stored_counts(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: No group with slug 'nope'."


async def test_the_weekly_job_reports_drift_to_metrics_and_job_runs(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    ids = await small_graph(api, tenant)
    ada = parse_global_id(ids["ada"], "Thing")
    assert ada is not None
    await corrupt(api, tenant.id, ada)

    # when
    await check_counters(api.runtime)

    # then: reported, not repaired
    metrics = (await api.client.get("/metrics")).text
    assert "ontology_counter_drifts 9.0" in metrics
    assert "ontology_counter_drift_groups 1.0" in metrics
    assert 'ontology_job_runs_total{job="counters",outcome="ok"} 1.0' in metrics
    run = await api.runtime.database.collection("job_runs").find_one({"job": "counters"})
    assert run is not None
    assert (run["status"], run["counts"]) == (
        "succeeded",
        {"groups": 1, "groupsWithDrift": 1, "drifts": 9, "drifted": ["acme"]},
    )
    assert (await stored_counts(api.runtime, tenant.id))["things"] == 8
