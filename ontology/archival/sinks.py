"""Where archive objects go: a directory (``file:///path``) or S3 (``s3://bucket/prefix``).

Both sinks offer the same four operations and the same guarantee: an object,
once written under a key, is never replaced. ``put_if_absent`` is create-only
(``If-None-Match: *`` on S3, a hard link on a file system); when the key exists
already, the existing object is compared by checksum and a different one is
reported as ``ObjectConflictError``, never overwritten. ``S3Sink.check`` proves
that the store honours the condition (a probe object written twice must be
refused the second time) and refuses a store that would silently overwrite.

Checksums are the SHA-256 of the object's bytes, in hex. On S3 they travel as
``x-amz-checksum-sha256`` (S3 verifies the body against it and refuses a
mismatch; HEAD with checksum mode returns what S3 stored) and as the
``sha256`` metadata entry; a file sink's HEAD reads the file and hashes it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from ontology.config import Settings
from ontology.kit.tracing import instrument_s3

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class SinkError(Exception):
    """The sink refused or failed an operation; retrying will not help."""


class TransientSinkError(SinkError):
    """Throttling, a 5xx or a timeout: worth retrying after a pause."""


class ObjectConflictError(SinkError):
    """An object with the same key but different content exists; it is left alone."""


class SinkAccessDeniedError(SinkError):
    """The store refused the credentials or the permissions (S3 403, a file EACCES)."""


def _os_error(error: OSError, message: str) -> SinkError:
    if isinstance(error, PermissionError):
        return SinkAccessDeniedError(message)
    return SinkError(message)


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    checksum: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Sink(Protocol):
    url: str

    async def check(self) -> None:
        """Raise ``SinkError`` with a clear message when the sink cannot be used."""

    async def put_if_absent(self, key: str, data: bytes, checksum: str) -> bool:
        """Create the object; False when an identical one exists already."""

    async def head(self, key: str) -> ObjectInfo | None:
        """Size and checksum of the stored object, None when there is none."""

    async def get(self, key: str) -> bytes: ...

    async def list_keys(self, prefix: str) -> list[str]:
        """Keys starting with ``prefix``, sorted; names starting with a dot are left out."""


class FileSink:
    """Objects as files under ``root``; create-only through ``os.link``, fsynced."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise SinkError(f"Archive key {key!r} leaves the archive directory.")
        return path

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    def _check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _os_error(
                error, f"Archive directory {self.root} is not usable: {error}"
            ) from None
        if not os.access(self.root, os.W_OK):
            raise SinkAccessDeniedError(f"Archive directory {self.root} is not writable.")

    async def put_if_absent(self, key: str, data: bytes, checksum: str) -> bool:
        return await asyncio.to_thread(self._put_if_absent, key, data, checksum)

    def _put_if_absent(self, key: str, data: bytes, checksum: str) -> bool:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
            self._write_synced(temporary, data)
            try:
                # link() fails when the name exists: a create-only rename.
                os.link(temporary, path)
            except FileExistsError:
                existing = self._head(key)
                if existing is not None and existing.checksum == checksum:
                    return False
                raise ObjectConflictError(
                    f"{self.url}/{key} exists with different content; it was left unchanged."
                ) from None
            finally:
                temporary.unlink(missing_ok=True)
            self._sync_directory(path.parent)
        except OSError as error:
            raise _os_error(error, f"Cannot write {path}: {error}") from None
        return True

    @staticmethod
    def _write_synced(path: Path, data: bytes) -> None:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(descriptor, view)
                view = view[written:]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    @staticmethod
    def _sync_directory(directory: Path) -> None:
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    async def head(self, key: str) -> ObjectInfo | None:
        return await asyncio.to_thread(self._head, key)

    def _head(self, key: str) -> ObjectInfo | None:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise _os_error(error, f"Cannot read {self.url}/{key}: {error}") from None
        return ObjectInfo(len(data), sha256_hex(data))

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except OSError as error:
            raise _os_error(error, f"Cannot read {self.url}/{key}: {error}") from None

    async def list_keys(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> list[str]:
        if not self.root.is_dir():
            return []
        keys = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)


# S3 error codes and statuses worth a retry.
_TRANSIENT_CODES = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "Throttling",
    "ThrottlingException",
    "OperationAborted",
}
_TRANSIENT_STATUSES = {500, 502, 503, 504}
_ACCESS_DENIED_CODES = {
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
}
_NETWORK_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)


def _status_and_code(error: ClientError) -> tuple[int, str]:
    response: Any = error.response
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return status, str(response.get("Error", {}).get("Code", ""))


def _translated(error: Exception, what: str) -> SinkError:
    """A botocore failure as a transient or permanent sink error with a readable message."""
    if isinstance(error, ClientError):
        status, code = _status_and_code(error)
        message = f"S3 {what} failed: {code or status} ({error})"
        if code in _TRANSIENT_CODES or status in _TRANSIENT_STATUSES:
            return TransientSinkError(message)
        if code in _ACCESS_DENIED_CODES or status == 403:
            return SinkAccessDeniedError(message)
        return SinkError(message)
    if isinstance(error, _NETWORK_ERRORS):
        return TransientSinkError(f"S3 {what} failed: {error}")
    return SinkError(f"S3 {what} failed: {error}")


# The object ``S3Sink.check`` writes twice under the prefix to prove create-only writes;
# a dot name, so that listings leave it out (as a file sink leaves out dot files).
PROBE_KEY = ".create-only-probe"
PROBE_BODY = b"Ontology archive: this store must refuse a second create-only write.\n"


class S3Sink:
    """Objects in one bucket under a prefix, through boto3 (run in worker threads).

    ``check`` proves that the store honours ``If-None-Match: *`` before anything is
    archived: a store that ignores it would let a retried or concurrent run replace
    an archived object without notice.
    """

    def __init__(self, client: S3Client, bucket: str, prefix: str, url: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.url = url

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    async def _call(self, what: str, method: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(method, **kwargs)
        except (ClientError, BotoCoreError) as error:
            raise _translated(error, what) from None

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
        except ClientError as error:
            status, code = _status_and_code(error)
            denied = code in _ACCESS_DENIED_CODES or status == 403
            raise (SinkAccessDeniedError if denied else SinkError)(
                f"Archive bucket {self.bucket!r} is not usable ({code or status}); "
                f"check ONTOLOGY_ARCHIVE_URL ({self.url}) and the credentials."
            ) from None
        except BotoCoreError as error:
            raise SinkError(
                f"Archive store {self.url} is unreachable: {error}; "
                "check ONTOLOGY_S3_ENDPOINT_URL and the network."
            ) from None
        await self._check_create_only()

    async def _check_create_only(self) -> None:
        """Write the probe object twice with ``If-None-Match: *``: the second must be refused.

        The first write may be refused too (the probe exists from an earlier check); a
        second write that succeeds means the store ignores the condition and would
        silently replace archived objects, so the sink is refused.
        """
        for attempt in (1, 2):
            try:
                await asyncio.to_thread(
                    self.client.put_object,
                    Bucket=self.bucket,
                    Key=self._key(PROBE_KEY),
                    Body=PROBE_BODY,
                    IfNoneMatch="*",
                    ChecksumSHA256=base64.b64encode(hashlib.sha256(PROBE_BODY).digest()).decode(),
                    ContentType="text/plain",
                )
            except ClientError as error:
                status, code = _status_and_code(error)
                if status in (409, 412) or code == "PreconditionFailed":
                    return  # refused: create-only writes are honoured
                if status in (400, 501) and code in ("NotImplemented", "InvalidArgument"):
                    raise SinkError(
                        f"Archive store {self.url} does not support conditional writes "
                        f"(If-None-Match: *): {code}; use a store that does."
                    ) from None
                raise _translated(error, f"PUT {PROBE_KEY} (create-only probe)") from None
            except BotoCoreError as error:
                raise _translated(error, f"PUT {PROBE_KEY} (create-only probe)") from None
            if attempt == 2:
                raise SinkError(
                    f"Archive store {self.url} overwrote {self._key(PROBE_KEY)!r} although "
                    "the write carried If-None-Match: * (expected 412 Precondition Failed); "
                    "it would silently replace archived objects, so nothing is archived "
                    "there. Use an S3 store that honours conditional writes."
                )

    async def put_if_absent(self, key: str, data: bytes, checksum: str) -> bool:
        try:
            await asyncio.to_thread(
                self.client.put_object,
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                IfNoneMatch="*",
                ChecksumSHA256=base64.b64encode(bytes.fromhex(checksum)).decode(),
                Metadata={"sha256": checksum},
                ContentType="application/gzip",
            )
        except ClientError as error:
            status, code = _status_and_code(error)
            # 412: the key exists; 409: a concurrent create-only write of it is in flight.
            if status not in (409, 412) and code not in ("PreconditionFailed",):
                raise _translated(error, f"PUT {key}") from None
            existing = await self.head(key)
            if existing is not None and existing.checksum == checksum:
                return False
            if existing is None:
                raise TransientSinkError(f"S3 PUT {key} conflicted with another write.") from None
            raise ObjectConflictError(
                f"{self.url}/{key} exists with different content; it was left unchanged."
            ) from None
        except BotoCoreError as error:
            raise _translated(error, f"PUT {key}") from None
        return True

    async def head(self, key: str) -> ObjectInfo | None:
        try:
            response = await asyncio.to_thread(
                self.client.head_object,
                Bucket=self.bucket,
                Key=self._key(key),
                ChecksumMode="ENABLED",
            )
        except ClientError as error:
            status, code = _status_and_code(error)
            if status == 404 or code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise _translated(error, f"HEAD {key}") from None
        except BotoCoreError as error:
            raise _translated(error, f"HEAD {key}") from None
        stored = response.get("ChecksumSHA256")
        checksum = _hex_of_base64(stored) if stored else None
        checksum = checksum or response.get("Metadata", {}).get("sha256", "")
        return ObjectInfo(int(response["ContentLength"]), checksum)

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read()

        result: bytes = await self._call(f"GET {key}", read)
        return result

    async def list_keys(self, prefix: str) -> list[str]:
        def keys() -> list[str]:
            found = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                found += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
            return sorted(key for key in found if not key.rsplit("/", 1)[-1].startswith("."))

        result: list[str] = await self._call(f"LIST {prefix}", keys)
        return result


def _hex_of_base64(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def s3_client(settings: Settings) -> S3Client:
    """A boto3 S3 client with explicit retry mode ``standard`` and timeouts."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": settings.s3_max_attempts},
        connect_timeout=settings.s3_timeout_seconds,
        read_timeout=settings.s3_timeout_seconds,
        region_name=settings.s3_region,
        # Checksums are sent explicitly (SHA-256); no extra CRC trailer.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    client: S3Client = boto3.session.Session().client(
        "s3", endpoint_url=settings.s3_endpoint_url, config=config
    )
    instrument_s3(client)  # a span per call while tracing is on
    return client


def open_sink(settings: Settings) -> Sink:
    """The sink ``ONTOLOGY_ARCHIVE_URL`` names (default: ``<data dir>/archive``)."""
    url = settings.resolved_archive_url
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise SinkError(f"ONTOLOGY_ARCHIVE_URL {url!r}: file URLs name a local path.")
        return FileSink(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise SinkError(f"ONTOLOGY_ARCHIVE_URL {url!r} names no bucket.")
        prefix = parsed.path.strip("/")
        return S3Sink(s3_client(settings), parsed.netloc, f"{prefix}/" if prefix else "", url)
    raise SinkError(f"ONTOLOGY_ARCHIVE_URL {url!r}: use s3://bucket/prefix or file:///path.")
