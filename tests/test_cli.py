"""The ``ontology`` command line, run as a user would: a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from pymongo import MongoClient

from ontology.api.schema import export_sdl
from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer, free_port
from ontology.keys.models import hash_secret

ONTOLOGY = str(Path(sys.executable).parent / "ontology")


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ONTOLOGY, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def test_groups_and_keys_from_the_command_line(mongo_server: EmbeddedServer) -> None:
    db_name = f"cli_{uuid.uuid4().hex[:8]}"
    env = {"ONTOLOGY_MONGODB_URI": mongo_server.uri, "ONTOLOGY_DB_NAME": db_name}

    group = run_cli("groups", "create", "--slug", "acme", "--name", "Acme", "--json", env=env)
    key = run_cli("keys", "create", "--group", "acme", "--role", "org_user", "--json", env=env)

    assert group.returncode == 0, group.stderr
    group_out = json.loads(group.stdout)
    assert {k: group_out[k] for k in ("slug", "name", "plan")} == {
        "slug": "acme",
        "name": "Acme",
        "plan": "starter",
    }
    assert key.returncode == 0, key.stderr
    key_out = json.loads(key.stdout)
    assert key_out["group"] == "acme" and key_out["role"] == "org_user"
    with MongoClient(mongo_server.uri) as client:
        stored = client[db_name]["api_keys"].find_one({})
        assert stored is not None
        assert stored["keyHash"] == hash_secret(key_out["secret"])
        assert str(stored["_id"]) == key_out["id"]

        revoked = run_cli("keys", "revoke", key_out["id"], "--group", "acme", "--json", env=env)
        again = run_cli("keys", "revoke", key_out["id"], "--group", "acme", env=env)

        assert revoked.returncode == 0, revoked.stderr
        assert json.loads(revoked.stdout) == {"id": key_out["id"], "revoked": True}
        assert client[db_name]["api_keys"].find_one({})["revokedAt"] is not None
        client.drop_database(db_name)
    assert again.returncode == 1
    assert again.stderr.strip() == f"error: No active key {key_out['id']} in group 'acme'."


def test_cli_errors_are_one_clear_line(mongo_server: EmbeddedServer) -> None:
    env = {"ONTOLOGY_MONGODB_URI": mongo_server.uri, "ONTOLOGY_DB_NAME": "cli_errors"}

    bad_slug = run_cli("groups", "create", "--slug", "Not A Slug", "--name", "X", env=env)
    no_group = run_cli("keys", "create", "--group", "nope", "--role", "org_user", env=env)

    assert bad_slug.returncode == 1
    assert "Traceback" not in bad_slug.stderr
    assert " ".join(bad_slug.stderr.split()) == (
        "error: slug: Slug must be 1-64 lowercase letters, digits or '-', "
        "not starting or ending with '-'."
    )
    assert no_group.returncode == 1
    assert no_group.stderr.strip() == "error: No group with slug 'nope'."


def test_export_schema_prints_the_sdl() -> None:
    result = run_cli("export-schema", env={})

    assert result.returncode == 0
    assert result.stdout == export_sdl()


def test_serve_demo_starts_the_embedded_database_seeds_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ONTOLOGY_DATA_DIR": str(tmp_path / "data"), "ONTOLOGY_PORT": str(port)}
    env.pop("ONTOLOGY_MONGODB_URI", None)
    with (
        (tmp_path / "serve.log").open("w") as log,
        subprocess.Popen(
            [ONTOLOGY, "serve", "--demo"], env=env, stdout=subprocess.PIPE, stderr=log, text=True
        ) as process,
    ):
        try:
            key = None
            link = None
            assert process.stdout is not None
            deadline = time.monotonic() + 90
            while link is None and time.monotonic() < deadline:
                line = process.stdout.readline()
                found = re.search(r"(ont_[A-Za-z0-9_-]+)", line)
                key = key or (found.group(1) if found else None)
                if line.startswith("GraphiQL"):
                    link = line.strip()
            assert key is not None, "serve --demo printed no key"
            state = json.loads((tmp_path / "data" / "embedded.json").read_text())

            response = httpx.post(
                f"http://127.0.0.1:{port}/graphql",
                json={
                    "query": "{ viewer { group { slug counts { things connections events } } } }"
                },
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            )
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)

    # the link hands the key to GraphiQL in its fragment (never sent to the server)
    assert link == (
        f"GraphiQL, with the key for your browser: http://127.0.0.1:{port}/graphql#key={key}"
    )
    assert response.status_code == 200
    assert response.json()["data"] == {
        "viewer": {
            "group": {"slug": "demo", "counts": {"things": 30, "connections": 42, "events": 92}}
        }
    }
    assert not (tmp_path / "data" / "embedded.json").exists()
    try:
        os.kill(state["pid"], 0)
        still_running = True
    except ProcessLookupError:
        still_running = False
    assert still_running is False


def test_import_reports_bad_rows_and_never_imports_twice(
    mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    db_name = f"cli_{uuid.uuid4().hex[:8]}"
    env = {"ONTOLOGY_MONGODB_URI": mongo_server.uri, "ONTOLOGY_DB_NAME": db_name}
    source = tmp_path / "people.csv"
    source.write_text(
        "name,type,city,properties\n"
        'Ada,creator,London,"{""followers"": 10}"\n'
        "Grace,,New York,\n"
        ",creator,Nowhere,\n"
        "Alan,robot,Manchester,\n"
    )
    run_cli("groups", "create", "--slug", "acme", "--name", "Acme", env=env)
    command = ("import", str(source), "--group", "acme", "--type", "audience_member")

    first = run_cli(*command, "--idempotency-prefix", "people-1", "--json", env=env)
    again = run_cli(*command, "--idempotency-prefix", "people-1", "--json", env=env)

    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert {k: v for k, v in summary.items() if k != "seconds"} == {
        "rows": 4,
        "created": 2,
        "alreadyImported": 0,
        "failed": 2,
        "chunks": 1,
        "errorsFile": str(tmp_path / "people.csv.errors.jsonl"),
    }
    report = (tmp_path / "people.csv.errors.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in report] == [
        {"row": 3, "path": "name", "code": "INVALID_NAME", "message": "Name must not be empty."},
        {
            "row": 4,
            "path": "type",
            "code": "UNKNOWN_TYPE",
            "message": "Unknown thing type 'robot'.",
        },
    ]
    assert json.loads(again.stdout)["created"] == 0
    assert json.loads(again.stdout)["alreadyImported"] == 2
    with MongoClient(mongo_server.uri) as client:
        things = sorted(
            (t["name"], t["type"], t["properties"]) for t in client[db_name]["things"].find({})
        )
        client.drop_database(db_name)
    assert things == [
        ("Ada", "creator", {"city": "London", "followers": 10}),
        ("Grace", "audience_member", {"city": "New York"}),
    ]


def test_the_demo_hints_fit_the_mode_the_server_runs_in() -> None:
    from ontology.api.documents import document_hash
    from ontology.cli.serve import demo_hints

    base = "http://127.0.0.1:8000"
    root = Path(__file__).resolve().parent.parent
    viewer = document_hash((root / "graphql" / "Viewer.graphql").read_text())

    assert demo_hints(Settings(env="development"), base, "ont_k").splitlines() == [
        f"GraphiQL, with the key for your browser: {base}/graphql#key=ont_k",
        f"Try: curl -s {base}/graphql -H 'Authorization: Bearer ont_k' "
        "-H 'Content-Type: application/json' "
        '-d \'{"query": "{ viewer { role group { slug counts { things } } } }"}\'',
    ]
    # production: no GraphiQL, and only trusted documents run
    assert demo_hints(Settings(env="production"), base, "ont_k").splitlines() == [
        f"Try: curl -s '{base}/graphql?documentId=sha256:{viewer}' "
        "-H 'Authorization: Bearer ont_k'",
    ]
