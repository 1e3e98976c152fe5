"""The embedded SecantusDB launcher."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymongo import MongoClient

from ontology.db.embedded import EmbeddedServer, EmbeddedServerError, running_server_uri


def test_data_survives_a_restart_and_the_state_file_follows_the_process(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path) as server:
        assert running_server_uri(tmp_path) == server.uri
        with MongoClient(server.uri) as client:
            client.keep.things.insert_one({"_id": 1, "name": "kept"})
    assert running_server_uri(tmp_path) is None
    assert not (tmp_path / "embedded.json").exists()

    with EmbeddedServer(tmp_path) as server, MongoClient(server.uri) as client:
        assert client.keep.things.find_one({"_id": 1}) == {"_id": 1, "name": "kept"}


def test_a_locked_data_directory_gets_a_clear_message(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path):
        second = EmbeddedServer(tmp_path)
        with pytest.raises(EmbeddedServerError) as raised:
            second.start()

    assert str(raised.value) == (
        f"The data directory {tmp_path / 'db'} is locked by another process "
        "(is `ontology serve` already running?). Stop it, or set ONTOLOGY_DATA_DIR "
        "to another directory."
    )
