"""A real ``ontology serve`` in a subprocess, on the test's database and a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ontology.config import Settings
from ontology.db.embedded import free_port

ONTOLOGY = str(Path(sys.executable).parent / "ontology")


@contextmanager
def serving(
    settings: Settings, data_dir: Path, log: Path, *args: str, **env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``ontology serve *args`` with ``env`` added, once ``/healthz`` answers: its base URL
    and its process (interrupted at the end unless it has already ended); its output is
    appended to ``log``."""
    port = free_port()
    environment = {
        **os.environ,
        "ONTOLOGY_MONGODB_URI": str(settings.mongodb_uri),
        "ONTOLOGY_DB_NAME": settings.db_name,
        "ONTOLOGY_DATA_DIR": str(data_dir),
        "ONTOLOGY_PORT": str(port),
        **env,
    }
    url = f"http://127.0.0.1:{port}"
    with (
        log.open("ab") as handle,
        subprocess.Popen(
            [ONTOLOGY, "serve", *args], env=environment, stdout=handle, stderr=handle
        ) as process,
    ):
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "ontology serve did not start"
                time.sleep(0.1)
            yield url, process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=60)
