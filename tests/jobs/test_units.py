"""The schedules in the top-level ``jobs/`` folder name jobs the package has, and each
schedules every one of them, when the scheduler would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from ontology.cli import app
from ontology.config import Settings
from ontology.jobs.registry import registered
from ontology.jobs.scheduler import job_specs

ROOT = Path(__file__).resolve().parent.parent.parent
JOBS = ROOT / "jobs"
RUN = re.compile(r"ontology jobs run (\S+)")


def registry() -> set[str]:
    return {spec.id for spec in job_specs(Settings())}


def crontab_entries() -> dict[str, str]:
    """Job name -> its five schedule fields, from the system crontab."""
    entries = {}
    for line in (JOBS / "crontab").read_text().splitlines():
        if not line.strip() or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        found = RUN.search(line)
        assert found is not None, line
        entries[found.group(1)] = " ".join(line.split()[:5])
    return entries


def systemd_timers() -> dict[str, dict[str, str]]:
    """Job name -> the [Timer] settings of its timer unit."""
    timers = {}
    for path in sorted((JOBS / "systemd").glob("*.timer")):
        settings = dict(
            line.split("=", 1)
            for line in path.read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        unit = re.fullmatch(r"ontology-job@(.+)\.service", settings["Unit"])
        assert unit is not None, path
        assert path.name == f"ontology-job-{unit.group(1)}.timer"
        timers[unit.group(1)] = settings
    return timers


def cronjobs() -> dict[str, dict[str, Any]]:
    """Job name -> its Kubernetes CronJob."""
    found = {}
    for manifest in yaml.safe_load_all((JOBS / "kubernetes" / "cronjobs.yaml").read_text()):
        assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "CronJob")
        (container,) = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        args = container["args"]
        assert args[:3] == ["ontology", "jobs", "run"] and len(args) == 4, args
        found[args[3]] = manifest
    return found


def test_the_command_line_runs_every_job_of_the_registry() -> None:
    assert registry() == {"archival", "snapshots", "queued-runs", "counters", "webhooks"}
    jobs = CliRunner().invoke(app, ["jobs", "run", "--help"], env={"COLUMNS": "400"})
    assert jobs.exit_code == 0
    for spec in registered():
        assert f"{spec.id}: {spec.help.rstrip('.')}" in jobs.output
    unknown = CliRunner().invoke(app, ["jobs", "run", "nightly"])
    assert unknown.exit_code == 1


def test_the_crontab_schedules_every_job_as_the_scheduler_does() -> None:
    assert crontab_entries() == {
        "archival": Settings().archive_cron,
        "snapshots": "5 * * * *",
        "queued-runs": "* * * * *",
        "counters": "0 3 * * 0",
        "webhooks": "* * * * *",
    }
    assert set(crontab_entries()) == registry()


def test_the_systemd_units_run_every_job() -> None:
    service = (JOBS / "systemd" / "ontology-job@.service").read_text()
    assert "ExecStart=/opt/ontology/.venv/bin/ontology jobs run %i\n" in service
    timers = systemd_timers()
    assert set(timers) == registry()
    assert timers["archival"]["OnCalendar"] == "*-*-* 02:00:00 UTC"
    assert timers["snapshots"]["OnCalendar"] == "*-*-* *:05:00 UTC"
    assert timers["queued-runs"]["OnUnitInactiveSec"] == "10s"
    assert timers["counters"]["OnCalendar"] == "Sun *-*-* 03:00:00 UTC"
    assert timers["webhooks"]["OnUnitInactiveSec"] == "10s"


def test_the_kubernetes_cronjobs_run_every_job_one_at_a_time() -> None:
    found = cronjobs()
    assert set(found) == registry()
    assert {name: job["spec"]["schedule"] for name, job in found.items()} == {
        "archival": Settings().archive_cron,
        "snapshots": "5 * * * *",
        "queued-runs": "* * * * *",
        "counters": "0 3 * * 0",
        "webhooks": "* * * * *",
    }
    assert {job["spec"]["concurrencyPolicy"] for job in found.values()} == {"Forbid"}


def test_the_readme_explains_every_job() -> None:
    readme = (JOBS / "README.md").read_text()
    for name in registry():
        assert f"| `{name}` |" in readme
    # no Python package named jobs at the top level (it would collide once installed)
    assert not (JOBS / "__init__.py").exists()
    assert not list(JOBS.rglob("*.py"))
