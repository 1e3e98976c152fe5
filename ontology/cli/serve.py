"""Run the API and the scheduler."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
from typing import Annotated
from urllib.parse import quote

import typer

from ontology.cli.common import err, fail, out
from ontology.config import Settings
from ontology.db.client import Database
from ontology.db.embedded import EmbeddedServer, EmbeddedServerError
from ontology.runtime import Runtime, open_runtime


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


async def _check_database(uri: str, name: str) -> None:
    """Fail before serving, with one clear line, when the database is unusable."""
    database = Database(uri, name)
    try:
        await database.check_transactions()
    finally:
        await database.close()


def demo_link(base_url: str, secret: str) -> str:
    """The GraphiQL link that hands the key to the page in its fragment, which browsers
    never send to the server: the page saves it in localStorage and drops it from the
    address bar."""
    return f"{base_url}/graphql#key={quote(secret, safe='')}"


def demo_hints(settings: Settings, base_url: str, secret: str) -> str:
    """The GraphiQL link (where GraphiQL is served) and a curl command that runs here."""
    from ontology.api.documents import document_hash
    from ontology.api.graphiql import load_examples

    auth = f"-H 'Authorization: Bearer {secret}'"
    lines = []
    if settings.graphiql_enabled:
        lines.append(f"GraphiQL, with the key for your browser: {demo_link(base_url, secret)}")
    if settings.trusted_documents_mode == "off":
        lines.append(
            f"Try: curl -s {base_url}/graphql {auth} -H 'Content-Type: application/json' "
            '-d \'{"query": "{ viewer { role group { slug counts { things } } } }"}\''
        )
    else:  # only the trusted documents run: name one by its id
        viewer = load_examples()[0]
        lines.append(
            f"Try: curl -s '{base_url}/graphql?documentId=sha256:{document_hash(viewer.query)}' "
            f"{auth}"
        )
    return "\n".join(lines)


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [ONTOLOGY_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [ONTOLOGY_PORT].")] = None,
    demo: Annotated[bool, typer.Option(help="Seed a demo tenant and print an API key.")] = False,
    scheduler: Annotated[
        bool, typer.Option(help="Run the scheduled jobs in this process (under the lease).")
    ] = True,
) -> None:
    """Run the API (and, without ONTOLOGY_MONGODB_URI, the embedded database).

    Examples:

      ontology serve --demo

      ONTOLOGY_MONGODB_URI=mongodb://db:27017/?replicaSet=rs0 ontology serve --host 0.0.0.0
    """
    import uvicorn

    from ontology.app import create_app
    from ontology.demo.seed import seed_demo

    settings = Settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    if not _port_free(settings.host, settings.port):
        raise fail(
            f"Port {settings.port} on {settings.host} is taken. "
            "Stop what uses it, or pass --port (or set ONTOLOGY_PORT)."
        )
    embedded: EmbeddedServer | None = None
    if settings.mongodb_uri is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        embedded = EmbeddedServer(settings.data_dir)
        try:
            embedded.start()
        except EmbeddedServerError as error:
            raise fail(str(error)) from None
        settings.mongodb_uri = embedded.uri
        err.print(
            f"Embedded database (SecantusDB) on port {embedded.port}, "
            f"data in {embedded.storage_path.resolve()}",
            highlight=False,
        )
    try:
        asyncio.run(_check_database(settings.mongodb_uri, settings.db_name))
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    base_url = f"http://{settings.host}:{settings.port}"

    async def on_ready(runtime: Runtime) -> None:
        tenant = await seed_demo(runtime) if demo else None
        # What startup allocated (modules, the schema, the runtime) lives as long as the
        # process: out of the collector's sight, a full collection during a 10,000-item
        # batch pauses the event loop for ~10 ms instead of ~100 ms.
        gc.collect()
        gc.freeze()
        if tenant is None:
            return
        counts = tenant.group.get("counts", {})
        seeded = "seeded" if tenant.created else "already seeded"
        out.print(
            f"\n[bold]Demo tenant[/bold] '{tenant.group['slug']}' ({seeded}: "
            f"{counts.get('things', 0)} things, {counts.get('connections', 0)} connections, "
            f"{counts.get('events', 0)} events)\n"
            f"API key (org_owner, shown once): [bold]{tenant.secret}[/bold]\n"
            f"{demo_hints(settings, base_url, tenant.secret)}\n",
            highlight=False,
            soft_wrap=True,
        )

    # uvicorn re-raises SIGTERM once it has shut down; turning it into SystemExit
    # lets the `finally` below stop the embedded database cleanly.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            create_app(settings, on_ready=on_ready, run_scheduler=scheduler),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            lifespan="on",
        )
    finally:
        if embedded is not None:
            embedded.stop()


def scheduler_command() -> None:
    """Run the scheduled jobs (daily archival, queued runs) until SIGTERM or Ctrl-C.

    Several processes may run it: a lease in MongoDB lets one run jobs at a time.

    Examples:

      ontology scheduler

      ONTOLOGY_LEASE_SECONDS=30 ontology scheduler
    """
    from ontology.jobs.scheduler import run_scheduler
    from ontology.kit.logs import configure_logging
    from ontology.kit.tracing import configure_from_env

    settings = Settings()
    configure_logging(settings.log_level)
    configure_from_env()  # OTEL_TRACES_EXPORTER: off unless set

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with open_runtime(settings) as runtime:
            await run_scheduler(runtime, stop)

    try:
        asyncio.run(main())
    except EmbeddedServerError as error:
        raise fail(str(error)) from None
