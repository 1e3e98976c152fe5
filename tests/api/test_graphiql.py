"""The GraphiQL page is served entirely by the app: no CDN, examples from graphql/."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ontology.api.graphiql import EXAMPLES, STATIC, Example, load_examples, render_page
from tests.factories import Api

ROOT = Path(__file__).resolve().parent.parent.parent
HTML = {"Accept": "text/html"}


async def test_the_page_loads_every_script_and_stylesheet_from_the_app(api: Api) -> None:
    response = await api.client.get("/graphql", headers=HTML)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    sources = re.findall(r'<script src="([^"]+)"', page)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert sources == [
        "graphiql/react.production.min.js",
        "graphiql/react-dom.production.min.js",
        "graphiql/graphiql.min.js",
        "graphiql/ontology-graphiql.js",
    ]
    assert styles == ["graphiql/graphiql.min.css", "graphiql/ontology-graphiql.css"]
    assert "http://" not in page and "https://" not in page and "//" not in page.split("<body>")[0]
    for path in sources + styles:
        asset = await api.client.get(f"/{path}")
        assert asset.status_code == 200, path
        assert asset.content == (STATIC / Path(path).name).read_bytes()
        expected = "text/css" if path.endswith(".css") else "javascript"
        assert expected in asset.headers["content-type"], path


async def test_the_page_opens_with_the_operation_documents_viewer_first(api: Api) -> None:
    page = (await api.client.get("/graphql", headers=HTML)).text

    data = re.search(
        r'<script id="ontology-graphiql-config" type="application/json">(.*?)</script>', page, re.S
    )
    assert data is not None
    config = json.loads(data.group(1))
    names = [example["name"] for example in config["examples"]]
    documents = sorted(p.stem for p in (ROOT / "graphql").glob("*.graphql"))
    assert names == ["Viewer", *[n for n in documents if n != "Viewer"]]
    assert config["defaultQuery"] == (ROOT / "graphql" / "Viewer.graphql").read_text()
    assert config["examples"][names.index("Things")]["query"] == (
        (ROOT / "graphql" / "Things.graphql").read_text()
    )


def test_the_packaged_examples_are_the_operation_documents() -> None:
    packaged = {p.name: p.read_text() for p in EXAMPLES.glob("*.graphql")}
    documents = {p.name: p.read_text() for p in (ROOT / "graphql").glob("*.graphql")}

    assert packaged == documents, "run scripts/sync_graphiql_examples.sh"
    assert len(load_examples()) == len(documents)


def test_the_vendored_assets_match_their_recorded_checksums() -> None:
    recorded = dict(
        reversed(line.split("  ", 1)) for line in (STATIC / "SHA256SUMS").read_text().splitlines()
    )

    assert sorted(recorded) == [
        "graphiql.min.css",
        "graphiql.min.js",
        "react-dom.production.min.js",
        "react.production.min.js",
    ]
    for name, digest in recorded.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    licences = (STATIC / "THIRD_PARTY_LICENSES.md").read_text()
    assert "| graphiql.min.js, graphiql.min.css | graphiql@3.8.3 | MIT |" in licences
    assert "| react.production.min.js | react@18.3.1 | MIT |" in licences
    assert "| react-dom.production.min.js | react-dom@18.3.1 | MIT |" in licences


def test_a_document_cannot_break_out_of_the_embedded_data() -> None:
    page = render_page(
        [Example("Evil", "# </script><script>alert(1)</script>\n{ viewer { role } }")]
    )

    assert page.count("</script>") == 5  # the data element and the four script elements
    assert "\\u003c/script>\\u003cscript>alert(1)" in page


async def test_the_page_script_takes_a_key_from_the_fragment_and_clears_it(api: Api) -> None:
    # (tests/api/test_graphiql_browser.py runs it in Chromium; this holds without one)
    script = (await api.client.get("/graphiql/ontology-graphiql.js")).text

    assert "var match = /^#key=([^&]+)$/.exec(window.location.hash);" in script
    assert "if (key) writeKey(key);" in script
    assert "window.history.replaceState(" in script
    assert "window.location.pathname + window.location.search" in script
    assert "var startKey = takeKeyFromFragment() || readKey();" in script
    assert "React.useState(startKey)" in script
