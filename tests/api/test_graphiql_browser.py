"""GraphiQL in a real browser: headless Chromium, with every non-loopback address blocked.

A real ``ontology serve`` runs on loopback; Chromium (Debian's ``chromium`` and
``chromium-driver`` packages, driven through selenium) loads the page, a key is
pasted into the key bar, the first example tab (``Viewer``) is run, and the
result pane must show the tenant's data. Host names other than 127.0.0.1 resolve
to nothing and any other traffic goes to a dead proxy, so a script or stylesheet
from a CDN could not load; the test also checks that every resource the page
fetched came from the app and that the console logged no error.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ontology.config import Settings
from ontology.runtime import open_runtime
from tests.factories import make_tenant
from tests.serving import serving

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="Chromium is not installed (apt-get install chromium chromium-driver; .ci/run does)",
)


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """A real ``ontology serve`` on a free loopback port; its base URL."""
    with serving(settings, tmp_path / "data", tmp_path / "serve.log") as (url, _):
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path / 'chromium'}",
        # Offline: only 127.0.0.1 resolves, and everything but loopback goes
        # through a proxy on a closed port.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium", ignore_errors=True)


def wait_for(condition: Any, what: str, seconds: float = 30, shown: Any = None) -> Any:
    """``condition()`` once it is truthy; on timeout, fail with what ``shown()`` returns."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f": {shown()}" if shown else ""))


def page_state(browser: Any) -> str:
    """The result pane's text and the console's messages, to explain a timeout."""
    from selenium.webdriver.common.by import By

    panes = browser.find_elements(By.CSS_SELECTOR, ".result-window .CodeMirror")
    result = panes[0].text if panes else "(no result pane)"
    console = [entry["message"] for entry in browser.get_log("browser")]
    return f"result pane {result!r}; console {console!r}"


async def test_graphiql_runs_a_query_with_a_saved_key_offline(
    settings: Settings, served: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # given a tenant and its key
    async with open_runtime(settings) as runtime:
        tenant = await make_tenant(runtime, "acme")

    # when the page is opened, the key pasted and saved, and the first tab run
    browser.get(f"{served}/graphql")
    field = wait_for(lambda: browser.find_elements(By.ID, "ontology-api-key"), "the key bar")[0]
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".graphiql-tab"), "the tabs")
    # without a key, GraphiQL's schema request is refused (the only error allowed)
    keyless = wait_for(lambda: browser.get_log("browser"), "the keyless schema request")
    field.send_keys(tenant.owner)
    browser.find_element(By.ID, "ontology-save-key").click()
    status = browser.find_element(By.ID, "ontology-key-status").text

    def graphql_requests() -> int:
        count: int = browser.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter(e => e.name.endsWith('/graphql')).length"
        )
        return count

    # (saving the key makes GraphiQL fetch the schema again, now with the key)
    wait_for(lambda: graphql_requests() == 2, "the schema fetched with the key")
    tabs = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".graphiql-tab"), "the example tabs"
    )
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()

    # then the result pane shows the tenant's data
    def result() -> str:
        panes = browser.find_elements(By.CSS_SELECTOR, ".result-window .CodeMirror")
        text: str = panes[0].text if panes else ""
        return text if '"slug": "acme"' in text else ""

    shown = wait_for(result, "the query result")
    assert graphql_requests() == 3
    assert '"role": "ORG_OWNER"' in shown
    assert (
        status == f"Key …{tenant.owner[-4:]} saved in this browser; sent as Authorization: Bearer."
    )
    assert browser.execute_script("return localStorage.getItem('ontology.apiKey')") == tenant.owner
    assert len(tabs) == len(list((Path(__file__).parents[2] / "graphql").glob("*.graphql")))
    assert tabs[0].text == "Viewer"
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources and all(name.startswith(served) for name in resources), resources
    assert [(e["level"], e["message"]) for e in keyless] == [
        (
            "SEVERE",
            f"{served}/graphql - Failed to load resource: the server responded with a status "
            "of 401 (Unauthorized)",
        )
    ]
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []

    # and after a reload the key is still there and queries still carry it
    browser.refresh()
    wait_for(lambda: browser.find_elements(By.ID, "ontology-key-status"), "the key bar again")
    assert browser.find_element(By.ID, "ontology-key-status").text == status


async def test_a_demo_link_hands_its_key_to_graphiql_and_leaves_the_address_bar(
    settings: Settings, served: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    from ontology.cli.serve import demo_link

    # given a tenant and the link `serve --demo` prints for its key
    async with open_runtime(settings) as runtime:
        tenant = await make_tenant(runtime, "acme")
    link = demo_link(served, tenant.owner)
    assert link == f"{served}/graphql#key={tenant.owner}"

    # when the link is opened
    browser.get(link)
    wait_for(lambda: browser.find_elements(By.ID, "ontology-key-status"), "the key bar")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".graphiql-tab"), "the tabs")
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()

    def result() -> str:
        panes = browser.find_elements(By.CSS_SELECTOR, ".result-window .CodeMirror")
        text: str = panes[0].text if panes else ""
        return text if '"slug": "acme"' in text else ""

    # then the key is saved for this browser, gone from the address bar, and used
    shown = wait_for(result, "the query result")
    assert '"role": "ORG_OWNER"' in shown
    assert browser.execute_script("return localStorage.getItem('ontology.apiKey')") == tenant.owner
    assert browser.current_url == f"{served}/graphql"
    assert browser.execute_script("return window.location.hash") == ""
    assert browser.find_element(By.ID, "ontology-key-status").text == (
        f"Key …{tenant.owner[-4:]} saved in this browser; sent as Authorization: Bearer."
    )
    # no request carried the key in its URL, and no request was refused
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert [name for name in resources if tenant.owner in name] == []
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


async def test_graphiql_runs_a_subscription_and_shows_the_change(
    settings: Settings, served: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # given a tenant, its key and a thing
    async with open_runtime(settings) as runtime:
        tenant = await make_tenant(runtime, "acme")
    async with httpx.AsyncClient() as client:
        created_response = await client.post(
            f"{served}/graphql",
            json={
                "query": 'mutation { createThing(input: {type: "creator", name: "Ada"})'
                " { thing { id } } }"
            },
            headers={"Authorization": f"Bearer {tenant.user}"},
        )
    created = created_response.json()
    thing_id = created["data"]["createThing"]["thing"]["id"]

    # when the page opens with the key already saved in this browser (saving it in the
    # key bar, covered above, makes GraphiQL swap its fetcher once the schema comes
    # back with the key; a subscription started before that would be dropped), and the
    # ThingChanged tab is opened with the thing's id and run
    browser.get(f"{served}/graphql")
    browser.execute_script(
        "window.localStorage.setItem('ontology.apiKey', arguments[0])", tenant.user
    )
    browser.refresh()
    wait_for(
        lambda: browser.find_elements(By.ID, "ontology-key-status")[0].text.startswith("Key …"),
        "the saved key",
    )
    tabs = wait_for(
        lambda: [t for t in browser.find_elements(By.CSS_SELECTOR, ".graphiql-tab")
                 if t.text == "ThingChanged"],
        "the ThingChanged tab",
    )  # fmt: skip
    tabs[0].find_element(By.CSS_SELECTOR, "button").click()
    # (GraphiQL names the operation to run 100 ms after the editor changes, debounced:
    # run before that, it would send the previous tab's name, "Viewer")
    wait_for(
        lambda: browser.execute_script(
            "const e = document.querySelector('.graphiql-query-editor .CodeMirror');"
            "return e !== null && e.CodeMirror.operationName === 'ThingChanged';"
        ),
        "the ThingChanged operation in the query editor",
    )
    wait_for(
        lambda: browser.execute_script(
            "const e = [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]"
            ".find(e => e.offsetParent !== null); if (!e) return false;"
            f'e.CodeMirror.setValue(\'{{"id": "{thing_id}"}}\'); return true;'
        ),
        "the variables editor",
    )
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()

    def subscribed() -> bool:
        metrics = httpx.get(f"{served}/metrics").text
        return 'ontology_live_subscriptions{kind="thing"} 1.0' in metrics

    wait_for(subscribed, "the subscription in the server", shown=lambda: page_state(browser))

    # and the thing is changed over HTTP
    async with httpx.AsyncClient() as client:
        changed_response = await client.post(
            f"{served}/graphql",
            json={
                "query": 'mutation($id: ID!) { updateThing(input: {id: $id, name: "Ada Live"})'
                " { errors { code } } }",
                "variables": {"id": thing_id},
            },
            headers={"Authorization": f"Bearer {tenant.user}"},
        )
    changed = changed_response.json()
    assert changed["data"]["updateThing"]["errors"] == []

    # then the result pane shows the change
    def result() -> str:
        panes = browser.find_elements(By.CSS_SELECTOR, ".result-window .CodeMirror")
        text: str = panes[0].text if panes else ""
        return text if '"name": "Ada Live"' in text else ""

    shown = wait_for(result, "the change in the result pane")
    assert '"kind": "UPDATED"' in shown
