"""Launch the embedded SecantusDB server as a subprocess.

SecantusDB is GPL-2.0, so it is never imported: it runs as its own process
(``secantusd-py``), which also keeps its work off our event loop. The data lives
under ``<data dir>/db``; ``<data dir>/embedded.json`` records the pid and port
of the running server so other ``ontology`` commands (``groups create``,
``keys create``) talk to it instead of failing on WiredTiger's directory lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

SERVER_EXECUTABLE = "secantusd-py"


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started; the message says what to do."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _executable() -> str:
    beside_python = Path(sys.executable).parent / SERVER_EXECUTABLE
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(SERVER_EXECUTABLE)
    if found is None:
        raise EmbeddedServerError(
            "The embedded database (SecantusDB) is not installed. Install it with "
            "`pip install 'ontology[embedded]'`, or set ONTOLOGY_MONGODB_URI to a MongoDB "
            "replica set."
        )
    return found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_server_uri(data_dir: Path) -> str | None:
    """The URI of an embedded server already serving ``data_dir``, if one is up."""
    state_file = data_dir / "embedded.json"
    try:
        state = json.loads(state_file.read_text())
        pid, host, port = int(state["pid"]), str(state["host"]), int(state["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if _pid_alive(pid) and port_accepts(host, port):
        return mongodb_uri(host, port)
    return None


def mongodb_uri(host: str, port: int) -> str:
    # The server advertises a replica-set name but is a single node.
    return f"mongodb://{host}:{port}/?directConnection=true"


class EmbeddedServer:
    """A SecantusDB subprocess bound to loopback on a free port."""

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        test_commands: bool = False,
        storage_path: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.storage_path = storage_path or data_dir / "db"
        self.host = host
        self.port = port or free_port(host)
        self.test_commands = test_commands
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = data_dir / "embedded.log"
        self._state_file = data_dir / "embedded.json"

    @property
    def uri(self) -> str:
        return mongodb_uri(self.host, self.port)

    def start(self, timeout: float = 60.0) -> None:
        executable = _executable()
        self.storage_path.mkdir(parents=True, exist_ok=True)
        args = [
            executable,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--storage-path",
            str(self.storage_path),
            "--log-level",
            "WARNING",
        ]
        if self.test_commands:
            args.append("--enable-test-commands")
        with self._log_path.open("wb") as log:
            # Its own session: a Ctrl-C in the terminal reaches only `ontology`,
            # which closes its connections first and then stops the database.
            self._process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not port_accepts(self.host, self.port):
            if self._process.poll() is not None:
                raise EmbeddedServerError(self._explain_exit())
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedServerError(
                    f"The embedded database did not start within {timeout:.0f}s; "
                    f"see {self._log_path}."
                )
            time.sleep(0.05)
        self._state_file.write_text(
            json.dumps({"pid": self._process.pid, "host": self.host, "port": self.port})
        )

    def _explain_exit(self) -> str:
        output = self._log_path.read_text(errors="replace") if self._log_path.exists() else ""
        if "already being managed by another process" in output or "Resource busy" in output:
            return (
                f"The data directory {self.storage_path} is locked by another process "
                "(is `ontology serve` already running?). Stop it, or set ONTOLOGY_DATA_DIR "
                "to another directory."
            )
        if "Address already in use" in output:
            return f"Port {self.port} is taken; the embedded database could not listen on it."
        last_lines = "\n".join(output.strip().splitlines()[-5:])
        return f"The embedded database exited while starting:\n{last_lines}"

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(FileNotFoundError):
            self._state_file.unlink()

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
