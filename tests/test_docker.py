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


def test_the_stack_has_a_replica_set_an_s3_store_with_its_bucket_the_api_and_one_scheduler() -> (
    None
):
    services = compose()["services"]

    assert sorted(services) == ["api", "mongo", "s3", "s3-init", "scheduler"]
    assert services["mongo"]["command"] == ["mongod", "--replSet", "rs0", "--bind_ip_all"]
    initiate = " ".join(services["mongo"]["healthcheck"]["test"])
    assert "rs.initiate({_id: 'rs0', members: [{_id: 0, host: 'mongo:27017'}]})" in initiate
    assert "isWritablePrimary" in initiate
    assert services["scheduler"]["command"] == ["ontology", "scheduler"]
    assert "command" not in services["api"]  # the image's default: serve --no-scheduler
    assert services.get("scheduler", {}).get("deploy", {}).get("replicas", 1) == 1


def test_every_long_running_service_has_a_health_check() -> None:
    services = compose()["services"]

    # the S3 gateway's image has no shell or HTTP client to probe with: s3-init
    # retries until it answers, and the API and scheduler wait for s3-init
    checked = sorted(name for name, spec in services.items() if "healthcheck" in spec)
    assert checked == ["api", "mongo", "scheduler"]
    assert services["s3-init"]["restart"] == "no"
    assert services["s3-init"]["depends_on"] == ["s3"]
    for name in ("api", "scheduler"):
        conditions = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        assert conditions == {
            "mongo": "service_healthy",
            "s3-init": "service_completed_successfully",
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


def test_s3_init_creates_the_archive_urls_bucket_on_the_stacks_store() -> None:
    services = compose()["services"]
    environment = services["s3-init"]["environment"]
    script = services["s3-init"]["command"][-1]

    assert environment == services["api"]["environment"]
    assert re.match(r"s3://[^/]+/", environment["ONTOLOGY_ARCHIVE_URL"])
    assert 'urlparse(os.environ["ONTOLOGY_ARCHIVE_URL"]).netloc' in script
    assert "s3.create_bucket(Bucket=bucket)" in script
    compile(script, "s3-init", "exec")  # the inline program is valid Python
    port = services["s3"]["environment"]["VGW_PORT"]
    assert environment["ONTOLOGY_S3_ENDPOINT_URL"] == f"http://s3{port}"
    assert services["s3"]["environment"]["ROOT_ACCESS_KEY"] == environment["AWS_ACCESS_KEY_ID"]
    assert services["s3"]["environment"]["ROOT_SECRET_KEY"] == environment["AWS_SECRET_ACCESS_KEY"]


def test_every_pulled_image_is_pinned_to_a_version() -> None:
    services = compose()["services"]
    pulled = {name: spec["image"] for name, spec in services.items() if "build" not in spec}
    built = {spec["image"] for spec in services.values() if "build" in spec}

    assert pulled == {"mongo": "mongo:8.0.12", "s3": "versity/versitygw:v1.8.0"}
    for name, image in pulled.items():
        reference = image.split("@", 1)[0]
        tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else ""
        assert tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: {image} is not a full version"
        if "@" in image:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", image.split("@", 1)[1])
    assert built == {"ontology:local"}
    assert "minio" not in (DOCKER / "compose.yaml").read_text().lower()


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
