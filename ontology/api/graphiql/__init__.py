"""GraphiQL that works without internet access.

The page at ``GET /graphql`` (from a browser) loads every script and
stylesheet from ``/graphiql/…``, served from ``static/``: GraphiQL 3.8.3 and
React 18.3.1 UMD builds copied from npm by ``scripts/fetch_graphiql.sh``
(versions pinned in ``scripts/graphiql/package-lock.json``, licences in
``static/THIRD_PARTY_LICENSES.md``), plus this project's small
``ontology-graphiql.js``. It opens with the operation documents as example tabs
(``examples/``, a packaged copy of the repository's ``graphql/`` kept equal by
a test and ``scripts/sync_graphiql_examples.sh``) and keeps a pasted API key in
the browser's localStorage, sending it as ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from graphql import OperationDefinitionNode, parse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
EXAMPLES = HERE / "examples"
PAGE = HERE / "page.html"
FIRST_EXAMPLE = "Viewer"


@dataclass(frozen=True)
class Example:
    name: str
    query: str


def load_examples(directory: Path = EXAMPLES) -> list[Example]:
    """The example documents, ``Viewer`` first (it needs no variables), then by name."""
    found = [Example(path.stem, path.read_text()) for path in sorted(directory.glob("*.graphql"))]
    return sorted(found, key=lambda example: example.name != FIRST_EXAMPLE)


def operation_names(examples: list[Example]) -> set[str]:
    """The names of the operations the example (trusted) documents define."""
    names: set[str] = set()
    for example in examples:
        for definition in parse(example.query).definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
                names.add(definition.name.value)
    return names


def render_page(examples: list[Example]) -> str:
    """The HTML page, with the examples embedded as JSON data (no inline script)."""
    config = {
        "defaultQuery": examples[0].query if examples else "{ viewer { role } }\n",
        "examples": [{"name": e.name, "query": e.query} for e in examples],
    }
    # "<" escaped so no document can close the data <script> element.
    data = json.dumps(config).replace("<", "\\u003c")
    return PAGE.read_text().replace("__CONFIG__", data)


def static_mount() -> Mount:
    """``/graphiql/…``: the page's scripts and stylesheets."""
    return Mount("/graphiql", app=StaticFiles(directory=STATIC), name="graphiql")
