"""docker/: the compose file parses and is wired through real settings.

There is no Docker engine on the test machines, so this checks the files
themselves: services, health checks, commands, and that every ``ONTOLOGY_``
variable the stack sets is a field of ``Settings`` (a typo would be silently
ignored at run time: pydantic-settings drops unknown variables).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ontology.config import Settings

DOCKER = Path(__file__).resolve().parent.parent / "docker"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


def setting_names() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return {prefix + name.upper() for name in Settings.model_fields}


def test_the_stack_has_a_replica_set_minio_with_its_bucket_the_api_and_one_scheduler() -> None:
    services = compose()["services"]

    assert sorted(services) == ["api", "minio", "minio-init", "mongo", "scheduler"]
    assert services["mongo"]["command"] == ["mongod", "--replSet", "rs0", "--bind_ip_all"]
    initiate = " ".join(services["mongo"]["healthcheck"]["test"])
    assert "rs.initiate({_id: 'rs0', members: [{_id: 0, host: 'mongo:27017'}]})" in initiate
    assert "isWritablePrimary" in initiate
    assert services["scheduler"]["command"] == ["ontology", "scheduler"]
    assert "command" not in services["api"]  # the image's default: serve --no-scheduler
    assert services.get("scheduler", {}).get("deploy", {}).get("replicas", 1) == 1


def test_every_long_running_service_has_a_health_check() -> None:
    services = compose()["services"]

    checked = sorted(name for name, spec in services.items() if "healthcheck" in spec)
    assert checked == ["api", "minio", "mongo", "scheduler"]
    assert services["minio-init"]["restart"] == "no"
    for name in ("api", "scheduler", "minio-init"):
        conditions = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        if name != "minio-init":
            assert conditions == {
                "mongo": "service_healthy",
                "minio-init": "service_completed_successfully",
            }


def test_every_ontology_variable_is_a_setting() -> None:
    services = compose()["services"]
    used = {
        variable
        for spec in services.values()
        for variable in (spec.get("environment") or {})
        if variable.startswith("ONTOLOGY_")
    }

    assert used, "the stack sets no ONTOLOGY_ variables"
    assert used - setting_names() == set()
    assert services["api"]["environment"] == services["scheduler"]["environment"]


def test_the_archive_url_names_the_bucket_minio_init_creates() -> None:
    services = compose()["services"]
    archive = services["api"]["environment"]["ONTOLOGY_ARCHIVE_URL"]
    script = " ".join(services["minio-init"]["entrypoint"])

    bucket = re.match(r"s3://([^/]+)/", archive)
    assert bucket is not None
    assert f"mc mb --ignore-existing archive/{bucket.group(1)}" in script


def test_the_dockerfile_builds_in_two_stages_and_runs_unprivileged_without_the_scheduler() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, flags=re.MULTILINE)
    final = dockerfile.split("AS runtime", 1)[1]

    assert stages == ["build", "runtime"]
    assert "USER ontology" in final
    assert "COPY --from=build /opt/ontology /opt/ontology" in final
    assert not re.search(r"apt-get|gcc|build-essential|pip install", final)
    assert final.rstrip().splitlines()[-1] == 'CMD ["ontology", "serve", "--no-scheduler"]'
    used = set(re.findall(r"\b(ONTOLOGY_[A-Z_]+)=", dockerfile))
    assert used == {"ONTOLOGY_HOST", "ONTOLOGY_PORT", "ONTOLOGY_ENV", "ONTOLOGY_DATA_DIR"}
    assert used <= setting_names()
