"""GraphiQL at GET /graphql (issue 21, item 10), served by the service alone: in real headless
Chromium, with every other host unreachable, the editor appears and a query typed with a
token in the headers panel runs, and so does a subscription (over the WebSocket); the browser
asks no other origin for anything, the content security policy refuses nothing the page
needs, and the token is kept nowhere (GraphiQL's history would keep it in localStorage).
The page has no inline script and names only its own files, which are the npm packages'
files as vendored (SHA384SUMS), each with its licence. Screenshots go to artifacts/."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from starlette.testclient import TestClient

from service.app import create_app
from service.config import Settings
from service.graphiql import ASSETS, PAGE, POLICY
from tests.e2e.test_viewer import ARTIFACTS, Site, chromium, served, wait

VENDOR = ASSETS / "vendor"
# Names resolve to nothing but this machine: a page that needed a CDN would stay blank.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
DECLASSIFY = """
mutation {
  declassify(input: {itemId: "S-2024-012", handlerId: "p-zhang-wei", officialId: "p-li-qiang",
                     reason: CIRCUMSTANCES_CHANGED, basis: "形势变化，公开后不损害国家安全。"}) {
    __typename
  }
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from served(tmp_path_factory.mktemp("graphiql"))


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = chromium(tmp_path / "profile", OFFLINE, logs={"performance": "ALL", "browser": "ALL"})
    try:
        yield driver
    finally:
        driver.quit()


def opened(driver: webdriver.Chrome, site: Site) -> None:
    driver.get(site.base + "/graphql")
    wait(driver).until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror"))
    )


def typed(driver: webdriver.Chrome, editor: str, text: str) -> str:
    """Types into one of GraphiQL's editors (CodeMirror) as a person would, over what it
    held; returns what it holds then (its brackets closed by the editor itself)."""
    box = driver.find_element(By.CSS_SELECTOR, f"{editor} .CodeMirror")
    box.click()
    keys = driver.find_element(By.CSS_SELECTOR, f"{editor} .CodeMirror textarea")
    keys.send_keys(Keys.CONTROL, "a")
    keys.send_keys(Keys.DELETE)
    keys.send_keys(text)
    value: str = driver.execute_script("return arguments[0].CodeMirror.getValue()", box)
    return value


def signed_in(driver: webdriver.Chrome, token: str) -> None:
    driver.find_element(By.XPATH, "//button[normalize-space()='Headers']").click()
    headers = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"
    value = typed(driver, headers, f'{{"Authorization": "Bearer {token}"}}')
    assert json.loads(value) == {"Authorization": f"Bearer {token}"}


def run(driver: webdriver.Chrome, query: str, operation: str) -> str:
    """Types the query and runs it, once GraphiQL has parsed what was typed (it does so a
    moment after each key, and routes a subscription to the WebSocket by that parse);
    returns the query as the editor holds it."""
    value = typed(driver, ".graphiql-query-editor", query)
    wait(driver).until(
        lambda d: (
            d.execute_script(
                "const ast = document.querySelector('.graphiql-query-editor .CodeMirror')"
                ".CodeMirror.documentAST;"
                "return ast && ast.definitions.length === 1 && ast.definitions[0].operation;"
            )
            == operation
        )
    )
    driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    return value


def result(driver: webdriver.Chrome, contains: str) -> str:
    wait(driver).until(
        ready.text_to_be_present_in_element((By.CSS_SELECTOR, ".result-window"), contains)
    )
    text: str = driver.find_element(By.CSS_SELECTOR, ".result-window").text
    return text


def requested(driver: webdriver.Chrome) -> set[str]:
    """Every URL the browser asked for or opened a WebSocket to, from the DevTools log."""
    urls = set()
    log: list[dict[str, Any]] = driver.get_log("performance")  # type: ignore[no-untyped-call]
    for entry in log:
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            urls.add(message["params"]["url"])
    return urls


def only_here(urls: set[str], base: str) -> None:
    here = urlsplit(base).netloc
    for url in urls:
        parts = urlsplit(url)
        # data: are the fonts and icons inside GraphiQL's stylesheet; chrome: the browser's
        # own pages (its new tab), which no page of ours can reach.
        if parts.scheme in ("data", "chrome"):
            continue
        assert parts.scheme in ("http", "ws"), url
        assert parts.netloc == here, f"a request to another origin: {url}"


def refused_by_policy(driver: webdriver.Chrome) -> list[str]:
    log: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [e["message"] for e in log if "Content Security Policy" in e["message"]]


def test_graphiql_comes_from_the_service_alone_and_runs_a_typed_query(
    site: Site, browser: webdriver.Chrome
) -> None:
    # What strawberry's page left in this origin's storage: the token, kept twice.
    left = '{"Authorization": "Bearer lin_left_by_an_older_page"}'
    history = {"queries": [{"query": "{ me { userId } }", "variables": "", "headers": left}]}
    browser.get(site.base + "/healthz")
    browser.execute_script(
        "localStorage.setItem('graphiql:headers', arguments[0]);"
        "localStorage.setItem('graphiql:queries', arguments[1]);",
        left,
        json.dumps(history),
    )
    opened(browser, site)
    signed_in(browser, site.tokens["p-sun-hong"])
    held = run(browser, '{ item(id: "S-2024-012") { id documentNumber', "query")
    assert held == '{ item(id: "S-2024-012") { id documentNumber}}'  # closed by the editor
    shown = result(browser, "某部发〔2024〕12号")
    assert '"id": "S-2024-012"' in shown
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "graphiql.png"))
    # The page keeps no token: not in the browser's storage, not in its address.
    kept = browser.execute_script(
        "return JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert "documentNumber" in kept  # GraphiQL keeps the query, so this is where it would be
    assert site.tokens["p-sun-hong"] not in kept
    assert "lin_left_by_an_older_page" not in kept
    assert "{ me { userId } }" in kept  # the history stays, without its headers
    assert site.tokens["p-sun-hong"] not in browser.current_url

    urls = requested(browser)
    only_here(urls, site.base)
    for own in (
        "/graphql",
        "/graphiql/graphiql.js",
        "/graphiql/vendor/react/react.production.min.js",
        "/graphiql/vendor/react-dom/react-dom.production.min.js",
        "/graphiql/vendor/graphiql/graphiql.min.js",
        "/graphiql/vendor/graphiql/graphiql.min.css",
        "/graphiql/vendor/plugin-explorer/index.umd.js",
    ):
        assert site.base + own in urls, own
    assert refused_by_policy(browser) == []


def test_a_subscription_in_graphiql_goes_over_the_websocket_with_the_token(
    site: Site, browser: webdriver.Chrome
) -> None:
    since = datetime.now(UTC).isoformat()
    opened(browser, site)
    signed_in(browser, site.tokens["p-sun-hong"])
    run(
        browser,
        f'subscription {{ noticesIssued(organisationId: "org-county", since: "{since}") '
        "{ itemId organisationId",
        "subscription",
    )
    decided = site.gql("p-li-qiang", DECLASSIFY)["declassify"]
    assert decided == {"__typename": "ChangeCommitted"}
    shown = result(browser, '"organisationId": "org-county"')
    assert "SUBSCRIPTION_OVER_HTTP" not in shown
    urls = requested(browser)
    only_here(urls, site.base)
    assert site.base.replace("http:", "ws:") + "/graphql" in urls
    assert refused_by_policy(browser) == []


# The page and its files, without a browser.


def test_the_page_has_no_inline_script_and_names_only_its_own_files(site: Site) -> None:
    page = httpx2.get(site.base + "/graphql", headers={"accept": "text/html"}, timeout=30)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == POLICY
    assert "'unsafe-inline'" not in POLICY
    assert "'unsafe-eval'" not in POLICY
    html = page.text
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # every script is a file
    assert "<style" not in html
    assert " style=" not in html
    named = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert named, html
    for name in named:
        if name.startswith("data:"):
            continue
        assert not urlsplit(name).netloc, name  # no other origin
        assert not name.startswith("/"), name  # relative: the service may sit under a path
        asset = httpx2.get(f"{site.base}/{name}", timeout=30)
        assert asset.status_code == 200, name
        assert asset.headers["content-security-policy"] == POLICY, name
        assert asset.headers["x-content-type-options"] == "nosniff", name
    script = httpx2.get(site.base + "/graphiql/vendor/graphiql/graphiql.min.js", timeout=30)
    assert script.headers["content-encoding"] == "gzip"


def test_the_vendored_files_are_the_packages_files_with_their_licences() -> None:
    listed: dict[str, str] = {}
    for line in (VENDOR / "SHA384SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    present = {
        str(p.relative_to(VENDOR))
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name not in ("SHA384SUMS", "README.md")
    }
    assert set(listed) == present
    for name, digest in listed.items():
        assert hashlib.sha384((VENDOR / name).read_bytes()).hexdigest() == digest, name
    for package in {Path(name).parent for name in listed if "/" in name}:
        assert (VENDOR / package / "LICENSE").is_file(), package
        assert "MIT License" in (VENDOR / package / "LICENSE").read_text()


def test_in_production_there_is_no_graphiql(tmp_path: Path) -> None:
    settings = Settings(store=f"sqlite:///{tmp_path / 'l.db'}", daily_expiry=False, production=True)
    with TestClient(create_app(settings)) as client:
        assert client.get("/graphql", headers={"accept": "text/html"}).status_code == 404
        assert client.get("/graphiql/graphiql.js").status_code == 404
    assert PAGE.is_file()
