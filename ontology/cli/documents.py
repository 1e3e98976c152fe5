"""ontology documents build: the trusted-document manifest from ``graphql/``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ontology.cli.common import err, fail, out

app = typer.Typer(
    help="The trusted documents (ONTOLOGY_TRUSTED_DOCUMENTS).\n\n"
    "Examples:\n\n  ontology documents build",
    no_args_is_help=True,
)


@app.command("build")
def build(
    source: Annotated[Path, typer.Option(help="Folder of operation documents (*.graphql).")] = Path(
        "graphql"
    ),
    output: Annotated[Path | None, typer.Option(help="Manifest to write.")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the manifest is stale.")
    ] = False,
) -> None:
    """Write the manifest: SHA-256 of each document's exact text → the text.

    Clients name a document by "documentId": "sha256:<hex>" (or Apollo's
    extensions.persistedQuery.sha256Hash). Run it from the repository root
    after changing graphql/, and commit the manifest.

    Examples:

      ontology documents build

      ontology documents build --check
    """
    from ontology.api.documents import MANIFEST, build_manifest, render_manifest

    target = output or MANIFEST
    if not source.is_dir():
        raise fail(f"--source {source} is not a folder.")
    manifest = build_manifest(source)
    if not manifest:
        raise fail(f"{source} holds no *.graphql document.")
    text = render_manifest(manifest)
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if check:
        if current != text:
            err.print(f"{target} is stale: run `ontology documents build`.", highlight=False)
            raise typer.Exit(1)
        out.print(
            f"{target}: {len(manifest)} documents, up to date", highlight=False, soft_wrap=True
        )
        return
    target.write_text(text, encoding="utf-8")
    out.print(f"{target}: {len(manifest)} documents", highlight=False, soft_wrap=True)
