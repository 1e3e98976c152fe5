"""JSON logs: one line per operation with its figures, and never a secret.

The in-process tests attach a handler with the app's formatter to the
``ontology`` logger; the end-to-end test reads the stderr of a real
``ontology serve`` while keys are created with the CLI and used over HTTP.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ontology.db.embedded import EmbeddedServer, free_port
from ontology.kit.logs import JsonFormatter, redact
from tests.batches.support import fail_point
from tests.factories import CREATE_THING, Api, make_tenant

ONTOLOGY = str(Path(sys.executable).parent / "ontology")
OPERATION_FIELDS = {
    "time",
    "level",
    "logger",
    "message",
    "requestId",
    "group",
    "operation",
    "outcome",
    "durationMs",
    "dbCommands",
    "documentsRead",
}


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the app logs during the test, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ontology")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_redact_hides_keys_and_bearer_credentials() -> None:
    secret = "ont_" + "A1b2-C3_d4" * 4

    assert redact(f"key {secret} end") == "key [redacted] end"
    assert redact(f'{{"authorization": "Bearer {secret}"}}') == '{"authorization": "[redacted]"}'
    assert redact("bearer abc.def, next") == "[redacted], next"
    assert redact("Expected `Authorization: Bearer <api key>`.") == (
        "Expected `Authorization: Bearer <api key>`."
    )


async def test_one_line_per_operation_with_its_figures_and_no_secret(
    api: Api, log_lines: io.StringIO
) -> None:
    # given a tenant
    tenant = await make_tenant(api.runtime, "acme")

    # when it queries, writes (one write failing on the server), and a bad key is tried
    await api.data(tenant.owner, "query Viewer { viewer { role } }")
    await api.data(tenant.user, CREATE_THING, {"input": {"type": "creator", "name": tenant.owner}})
    async with fail_point(api.runtime, ["insert"]):
        failed = await api.gql(
            tenant.user, CREATE_THING, {"input": {"type": "creator", "name": "Boom"}}
        )
    refused = await api.post(tenant.owner + "x", "{ viewer { role } }")

    # then each operation logged one line with every figure, and no line holds a key
    assert failed["errors"][0]["message"] == "Unexpected error."
    assert refused.status_code == 401
    lines = parsed(log_lines)
    operations = [line for line in lines if line["message"] == "operation"]
    assert [(o["operation"], o["outcome"]) for o in operations] == [
        ("Viewer", "ok"),
        (None, "ok"),
        (None, "error"),
    ]
    for line in operations:
        assert set(line) == OPERATION_FIELDS
        assert line["group"] == str(tenant.id)
        assert len(line["requestId"]) == 32
    # a create: reservation (a findAndModify returning the group's counters as they were,
    # for quota alerts: the one document read), thing, event, metric counters, commit
    assert [(o["dbCommands"], o["documentsRead"]) for o in operations] == [(0, 0), (5, 1), (3, 1)]
    errors = [line for line in lines if line["level"] == "error"]
    assert [e["requestId"] for e in errors] == [failed["errors"][0]["extensions"]["requestId"]]
    assert "OperationFailure" in errors[0]["exception"]
    text = log_lines.getvalue()
    for secret in tenant.keys.values():
        assert secret not in text
    assert "ont_" not in text
    assert "bearer" not in text.lower()
    assert "authorization" not in text.lower()


def test_a_served_process_never_logs_keys_created_with_the_cli(
    mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ONTOLOGY_MONGODB_URI": mongo_server.uri,
        "ONTOLOGY_DB_NAME": f"logs_{uuid.uuid4().hex[:8]}",
        "ONTOLOGY_DATA_DIR": str(tmp_path / "data"),
        "ONTOLOGY_PORT": str(port),
        "ONTOLOGY_LOG_LEVEL": "DEBUG",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ONTOLOGY, *args], env=env, capture_output=True, text=True, timeout=120
        )

    created = cli("groups", "create", "--slug", "acme", "--name", "Acme")
    key = cli("keys", "create", "--group", "acme", "--role", "org_owner", "--json")
    assert created.returncode == 0 and key.returncode == 0, created.stderr + key.stderr
    secret = json.loads(key.stdout)["secret"]
    log_path = tmp_path / "serve.log"
    with (
        log_path.open("w") as log,
        subprocess.Popen([ONTOLOGY, "serve"], env=env, stdout=log, stderr=log) as process,
    ):
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            headers = {"Authorization": f"Bearer {secret}"}
            ok = httpx.post(
                f"{url}/graphql",
                json={"query": "query Viewer { viewer { role } }"},
                headers=headers,
                timeout=30,
            )
            bad = httpx.post(
                f"{url}/graphql",
                json={"query": "{ viewer { role } }"},
                headers={"Authorization": f"Bearer {secret}x"},
                timeout=30,
            )
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)

    assert ok.status_code == 200 and bad.status_code == 401
    served = log_path.read_text()
    operations = [json.loads(line) for line in served.splitlines() if '"operation"' in line]
    assert [(o["operation"], o["outcome"]) for o in operations] == [("Viewer", "ok")]
    for stream in (served, created.stderr, key.stderr):
        assert secret not in stream
        assert "authorization" not in stream.lower()
