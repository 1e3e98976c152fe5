"""S3 through moto's HTTP server (one per session), reached by boto3 like any endpoint."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from ontology.db.embedded import free_port


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    """A fresh bucket on the moto server."""
    from ontology.archival.sinks import s3_client
    from tests.archival.support import s3_settings

    name = f"archive-{uuid.uuid4().hex[:12]}"
    s3_client(s3_settings(s3_endpoint)).create_bucket(Bucket=name)
    return name
