"""The lineage viewer in real headless Chromium (Debian's chromium and chromedriver, which
scripts/setup-browser installs), against a real uvicorn server on the demo: the page loads,
signs in with a token, finds and draws a lineage, shows an item's details and explanation,
marks the nodes an impact preview names, shows a reader no more than the API does,
downloads the written forms, and leaves nothing of one reader to the next on the same tab.
Screenshots go to artifacts/."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from pdfminer.high_level import extract_text
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from graph.store.base import GraphStore
from service.accounts import issue_token
from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from tests.e2e.test_server import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
USERS = ("p-sun-hong", "p-liu-yang", "p-li-qiang", "p-he-jun")


class Site:
    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.base = base
        self.tokens = tokens

    def gql(self, user: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = httpx2.post(
            self.base + "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.tokens[user]}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo served for the tests that only read."""
    yield from served(tmp_path_factory.mktemp("viewer"))


def served(folder: Path) -> Iterator[Site]:
    url = f"sqlite:///{folder / 'lineage.db'}"
    store: GraphStore = open_store(url)
    load_demo(store)
    tokens = {u: issue_token(store, u, revoke_others=False).bearer for u in USERS}
    store.close()
    port = free_port()
    config = uvicorn.Config(
        create_app(Settings(store=url, daily_expiry=False)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    yield Site(base, tokens)
    server.should_exit = True
    thread.join(timeout=10)


def chromium(profile: Path, *flags: str, logs: dict[str, str] | None = None) -> webdriver.Chrome:
    """Chromium with the flags below and `flags`, keeping the logs named in `logs`
    (`{"performance": "ALL"}`: every request, through the DevTools protocol)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # As the machine's notes say: no sandbox as root, and none of Chromium's own traffic.
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
        "--window-size=1600,1000",
        f"--user-data-dir={profile}",
        *flags,
    ):
        options.add_argument(flag)
    if logs:
        options.set_capability("goog:loggingPrefs", logs)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = chromium(tmp_path / "profile")
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, seconds: float = 20) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, seconds)


def sign_in_with(driver: WebDriver, base: str, bearer: str) -> None:
    driver.get(base + "/ui/")
    token = wait(driver).until(ready.visibility_of_element_located((By.ID, "token")))
    token.send_keys(bearer)
    driver.find_element(By.CSS_SELECTOR, "#signin button").click()
    wait(driver).until(ready.visibility_of_element_located((By.ID, "query")))


def sign_in(driver: WebDriver, site: Site, user: str) -> None:
    sign_in_with(driver, site.base, site.tokens[user])


def open_lineage(driver: WebDriver, words: str, item_id: str) -> None:
    driver.find_element(By.ID, "query").send_keys(words)
    driver.find_element(By.CSS_SELECTOR, "#search button").click()
    result = wait(driver).until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, f'#results li[data-id="{item_id}"]'))
    )
    result.click()
    wait(driver).until(
        ready.presence_of_element_located((By.CSS_SELECTOR, f'g.node.root[data-id="{item_id}"]'))
    )


def nodes(driver: WebDriver) -> dict[str, Any]:
    return {
        g.get_attribute("data-id") or "": g
        for g in driver.find_elements(By.CSS_SELECTOR, "#nodes g.node")
    }


def shot(driver: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / name))


GRAPH = """query($id: ID!) { lineageGraph(id: $id, depth: 6) {
  ... on LineageGraph { nodeCount redacted data } } }"""
IMPACT = """{ impactAnalysis(change: {itemId: "S-2024-012", declassify: true}) {
  ... on ImpactAnalysis { impacts(first: 500) { id actions } } } }"""


def test_the_page_draws_a_lineage_shows_details_and_previews_an_impact(
    site: Site, browser: WebDriver
) -> None:
    page = httpx2.get(site.base + "/ui/", timeout=10)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "派生国家秘密血缘查看" in page.text

    sign_in(browser, site, "p-sun-hong")
    assert "孙红" in browser.find_element(By.ID, "user").text
    open_lineage(browser, "重点工程建设总体方案", "S-2024-012")
    expected = site.gql("p-sun-hong", GRAPH, {"id": "S-2024-012"})["lineageGraph"]
    drawn = nodes(browser)
    assert set(drawn) == {n["id"] for n in expected["data"]["nodes"]}
    paths = browser.find_elements(By.CSS_SELECTOR, "#edges path")
    assert len(paths) == len(expected["data"]["edges"])
    assert "secret" in (drawn["S-2024-012"].get_attribute("class") or "").split()

    # A click opens the item's details and the explanation of its classification.
    drawn["D-COUNTY-004"].click()
    details = wait(browser).until(
        ready.text_to_be_present_in_element((By.ID, "details"), "定密说明")
    )
    assert details
    text = browser.find_element(By.ID, "details").text
    assert "某乡镇征地工作任务分解表（复制件）" in text
    assert "机密★20年" in text

    # The impact preview marks what impactAnalysis names, and writes nothing.
    nodes(browser)["S-2024-012"].click()
    wait(browser).until(ready.visibility_of_element_located((By.ID, "impact-form")))
    browser.find_element(By.CSS_SELECTOR, "#impact-form button[type=submit]").click()
    wait(browser).until(
        ready.text_to_be_present_in_element((By.ID, "impact-summary"), "尚未写入任何内容")
    )
    impacts = site.gql("p-sun-hong", IMPACT)["impactAnalysis"]["impacts"]
    wanted = {
        i["id"]: "declassify"
        if "DECLASSIFY" in i["actions"]
        else "review"
        if "REVIEW" in i["actions"]
        else "change"
        for i in impacts
    }
    marked = {
        g.get_attribute("data-id"): g.get_attribute("data-impact")
        for g in browser.find_elements(By.CSS_SELECTOR, "#nodes g.node[data-impact]")
    }
    assert marked == wanted
    assert marked["D-PROV-001-DRAFT"] == "review"
    assert "D-INST-001" not in marked  # it keeps its 绝密 basis (D-12)
    shot(browser, "viewer-impact.png")
    still = site.gql("p-sun-hong", '{ item(id: "S-2024-012") { status } }')["item"]
    assert still == {"status": "CLASSIFIED"}

    # Zoom and pan move the drawing; collapsing hides what lies below.
    before = browser.find_element(By.ID, "viewport").get_attribute("transform")
    browser.execute_script("window.lineageViewer.zoomAt(1.5, 300, 200)")
    assert browser.find_element(By.ID, "viewport").get_attribute("transform") != before
    nodes(browser)["D-CITY-001"].click()
    fold = wait(browser).until(
        ready.element_to_be_clickable((By.XPATH, "//section[@id='details']//button[.='收起下游']"))
    )
    fold.click()
    hidden = {
        g.get_attribute("data-id")
        for g in browser.find_elements(By.CSS_SELECTOR, "#nodes g.node.hidden")
    }
    assert hidden >= {"D-COUNTY-001", "D-COUNTY-004", "D-INST-002"}
    browser.find_element(By.XPATH, "//section[@id='details']//button[.='展开下游']").click()
    assert not browser.find_elements(By.CSS_SELECTOR, "#nodes g.node.hidden")
    # Folding upstream hides the ancestors of an item, but not the root of the drawing.
    nodes(browser)["D-COUNTY-001"].click()
    wait(browser).until(
        ready.element_to_be_clickable((By.XPATH, "//section[@id='details']//button[.='收起上游']"))
    ).click()
    above = {
        g.get_attribute("data-id")
        for g in browser.find_elements(By.CSS_SELECTOR, "#nodes g.node.hidden")
    }
    assert above == {"D-PROV-001", "D-CITY-001"}


TALLIES = """{ impactAnalysis(change: {itemId: "S-2024-012", declassify: true}) {
  ... on ImpactAnalysis { total redacted allToDeclassify allToChange allToReview
    byOrganisation { organisationId organisationName total hidden toDeclassify toChange toReview }
    impacts(first: 500) { id } } } }"""
SEEN = """{ impactAnalysis(change: {itemId: "S-2024-012", declassify: true}) {
  ... on ImpactAnalysis { impacts(first: 500) { id item { title } } } } }"""


def test_an_official_sees_what_a_decision_makes_others_do_without_their_content(
    site: Site, browser: WebDriver
) -> None:
    """The ministry's official may read the source and none of its seven descendants: the
    summary says how many must act and how, per holding organisation, in Chinese, where the
    readable counts alone would say nothing happens (issue 23, point 8); no title of theirs."""
    sign_in(browser, site, "p-li-qiang")
    open_lineage(browser, "重点工程建设总体方案", "S-2024-012")
    nodes(browser)["S-2024-012"].click()
    wait(browser).until(ready.visibility_of_element_located((By.ID, "impact-form")))
    browser.find_element(By.CSS_SELECTOR, "#impact-form button[type=submit]").click()
    wait(browser).until(
        ready.text_to_be_present_in_element((By.ID, "impact-summary"), "尚未写入任何内容")
    )
    report = site.gql("p-li-qiang", TALLIES)["impactAnalysis"]
    assert (report["total"], report["redacted"]) == (7, 7)
    summary = browser.find_element(By.ID, "impact-summary").text
    assert (
        f"共 7 项须随之处理，其中 7 项无权知悉：将解密 {report['allToDeclassify']} 项，"
        f"将变更 {report['allToChange']} 项，须审核 {report['allToReview']} 项" in summary
    )
    assert report["allToDeclassify"] == 6
    rows = {
        li.get_attribute("data-organisation"): li.text
        for li in browser.find_elements(By.CSS_SELECTOR, "#impact-organisations li")
    }
    assert set(rows) == {t["organisationId"] for t in report["byOrganisation"]}
    for t in report["byOrganisation"]:
        assert rows[t["organisationId"]] == (
            f"{t['organisationName']}：{t['total']} 项（其中 {t['hidden']} 项无权知悉），"
            f"将解密 {t['toDeclassify']} 项，将变更 {t['toChange']} 项，须审核 {t['toReview']} 项"
        )
    assert rows["org-county"].startswith(
        "某县工业和信息化局：4 项（其中 4 项无权知悉），将解密 4 项"
    )
    summary_box = browser.find_element(By.ID, "impact-summary")
    browser.execute_script("arguments[0].scrollIntoView()", summary_box)
    shot(browser, "viewer-impact-tallies.png")
    # Placeholders stay placeholders: none of the descendants' titles or ids on the page.
    full = site.gql("p-sun-hong", SEEN)["impactAnalysis"]["impacts"]
    page = browser.page_source
    assert len(full) == 7
    for entry in full:
        assert entry["item"]["title"] not in page
        assert f'data-id="{entry["id"]}"' not in page


REVIEW = """mutation { recordReview(input: {itemIds: ["S-2024-012"], handlerId: "p-zhang-wei",
  reasoning: "保密期限尚未届满，仍需保密。"}) { __typename } }"""


def test_an_official_commits_a_previewed_decision_from_the_page(
    tmp_path: Path, browser: WebDriver
) -> None:
    for site in served(tmp_path):
        sign_in(browser, site, "p-li-qiang")
        open_lineage(browser, "重点工程建设总体方案", "S-2024-012")
        nodes(browser)["S-2024-012"].click()
        wait(browser).until(ready.visibility_of_element_located((By.ID, "impact-form")))
        # Only keypoint K2: what involves K1 alone stays as it is.
        browser.find_element(
            By.CSS_SELECTOR, '#impact-keypoints input[value="S-2024-012.K2"]'
        ).click()
        browser.find_element(By.CSS_SELECTOR, "#impact-form button[type=submit]").click()
        form = wait(browser).until(ready.visibility_of_element_located((By.ID, "commit-form")))
        browser.find_element(By.ID, "commit-handler").send_keys("p-zhang-wei")
        browser.find_element(By.ID, "commit-basis").send_keys("投资规模已公开。")
        # Meanwhile another decision on the source (a review that keeps it as it is): the
        # decision was analysed on the version before, and is refused, writing nothing.
        reviewed = site.gql("p-li-qiang", REVIEW)["recordReview"]
        assert reviewed["__typename"] == "ReviewRecorded", reviewed
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser).until(ready.text_to_be_present_in_element((By.ID, "message"), "已被他人修改"))
        assert "请重新分析影响" in browser.find_element(By.ID, "message").text
        assert not form.is_displayed()
        unchanged = site.gql("p-li-qiang", '{ item(id: "S-2024-012") { status version } }')
        assert unchanged["item"] == {"status": "CLASSIFIED", "version": 2}
        # Analysed again, it commits.
        browser.find_element(By.CSS_SELECTOR, "#impact-form button[type=submit]").click()
        form = wait(browser).until(ready.visibility_of_element_located((By.ID, "commit-form")))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser).until(
            ready.text_to_be_present_in_element((By.ID, "message"), "已发出变更通知")
        )
        keypoints = site.gql(
            "p-li-qiang", '{ item(id: "S-2024-012") { keypoints { id declassified } } }'
        )["item"]["keypoints"]
        assert keypoints == [
            {"id": "S-2024-012.K1", "declassified": False},
            {"id": "S-2024-012.K2", "declassified": True},
        ]


CITE = """mutation($input: RecordCitationInput!) { recordCitation(input: $input) {
  __typename ... on Problem { message } } }"""


def test_a_citation_is_drawn_dotted_beside_the_derivations(
    tmp_path: Path, browser: WebDriver
) -> None:
    """D-14: an item cited, not a basis, is a dotted line from the cited item to the citing
    one, apart from the DERIVED_FROM edges."""
    for site in served(tmp_path):
        cited = site.gql(
            "p-li-qiang",
            CITE,
            {"input": {"itemId": "S-2024-012", "citedId": "S-2023-007", "note": "仅引用其名称。"}},
        )["recordCitation"]
        assert cited["__typename"] == "CitationRecorded", cited
        sign_in(browser, site, "p-li-qiang")
        open_lineage(browser, "重点工程建设总体方案", "S-2024-012")
        expected = site.gql("p-li-qiang", GRAPH, {"id": "S-2024-012"})["lineageGraph"]["data"]
        assert "S-2023-007" in nodes(browser)
        (dotted,) = browser.find_elements(By.CSS_SELECTOR, "#edges path.citation")
        assert dotted.get_attribute("data-parent") == "S-2023-007"
        assert dotted.get_attribute("data-child") == "S-2024-012"
        assert dotted.value_of_css_property("stroke-dasharray") not in ("", "none")
        solid = browser.find_elements(By.CSS_SELECTOR, "#edges path:not(.citation)")
        assert len(solid) == len(expected["edges"])
        assert all(p.value_of_css_property("stroke-dasharray") == "none" for p in solid)
        title = dotted.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        assert title == "引用（非派生依据，D-14）：仅引用其名称。"
        shot(browser, "viewer-citation.png")


def test_the_page_shows_a_reader_no_more_than_the_api(site: Site, browser: WebDriver) -> None:
    sign_in(browser, site, "p-liu-yang")
    open_lineage(browser, "实施意见", "D-PROV-001")
    expected = site.gql("p-liu-yang", GRAPH, {"id": "D-PROV-001"})["lineageGraph"]
    placeholders = browser.find_elements(By.CSS_SELECTOR, '#nodes g.node[data-redacted="true"]')
    assert len(placeholders) == expected["redacted"] > 0
    full = site.gql("p-sun-hong", GRAPH, {"id": "D-PROV-001"})["lineageGraph"]
    readable = {n["id"] for n in expected["data"]["nodes"] if not n["redacted"]}
    source = browser.page_source
    for node in full["data"]["nodes"]:
        if node["id"] not in readable:
            assert node["title"] not in source
    placeholders[0].click()
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "details"), "知悉范围内"))
    shot(browser, "viewer-redacted.png")


def test_without_a_valid_token_the_page_shows_nothing(site: Site, browser: WebDriver) -> None:
    browser.get(site.base + "/ui/")
    token = wait(browser).until(ready.visibility_of_element_located((By.ID, "token")))
    token.send_keys("lin_0000000000000000_not-a-token")
    browser.find_element(By.CSS_SELECTOR, "#signin button").click()
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "message"), "令牌"))
    assert not browser.find_element(By.ID, "query").is_displayed()


def test_the_catalogue_page_lists_what_went_public(tmp_path: Path, browser: WebDriver) -> None:
    for site in served(tmp_path):
        declassified = site.gql(
            "p-li-qiang",
            """mutation { declassify(input: {itemId: "S-2022-015", handlerId: "p-zhang-wei",
              reason: PUBLICATION_REQUIRED, basis: "依法予以公开。", afterwards: PUBLIC,
              effectiveOn: "2026-03-01"}) { __typename } }""",
        )
        assert declassified["declassify"]["__typename"] == "ChangeCommitted"
        sign_in(browser, site, "p-liu-yang")
        browser.find_element(By.CSS_SELECTOR, "#whoami a").click()
        since = wait(browser).until(ready.visibility_of_element_located((By.ID, "since")))
        browser.execute_script("arguments[0].value = '2026-01-01'", since)
        browser.find_element(By.CSS_SELECTOR, "#range button[type=submit]").click()
        wait(browser).until(ready.text_to_be_present_in_element((By.ID, "message"), "共 1 项"))
        (row,) = browser.find_elements(By.CSS_SELECTOR, "#entries tbody tr")
        assert row.get_attribute("data-id") == "S-2022-015"
        assert "某专项工作会议纪要" in row.text
        assert "2026-03-01" in row.text
        shot(browser, "catalogue.png")


def test_the_statistics_page_charts_a_year(site: Site, browser: WebDriver) -> None:
    sign_in(browser, site, "p-sun-hong")
    browser.get(site.base + "/ui/statistics.html")
    year = wait(browser).until(ready.visibility_of_element_located((By.ID, "year")))
    year.clear()
    year.send_keys("2024")
    browser.find_element(By.CSS_SELECTOR, "#choose button[type=submit]").click()
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "message"), "2024 年"))
    bars = browser.find_elements(
        By.CSS_SELECTOR, 'rect.bar[data-organisation="org-county"][data-series="derived"]'
    )
    assert [b.get_attribute("data-value") for b in bars] == ["4"]
    assert float(bars[0].get_attribute("width") or 0) > 0
    shot(browser, "statistics.png")


def downloaded(folder: Path, suffix: str) -> Path:
    """The one file Chromium has finished downloading into `folder` with this suffix."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = list(folder.glob(f"*{suffix}"))
        if len(found) == 1 and not list(folder.glob("*.crdownload")):
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} downloaded: {list(folder.iterdir())}")


RECORDS = """query($id: ID!) { item(id: $id) { records { id kind } } }"""
RECORD_CSV = """query($id: ID!) { recordForm(recordId: $id) { ... on PrintedForm { csv } } }"""


def test_the_page_downloads_an_items_written_record(
    site: Site, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)}
    )
    sign_in(browser, site, "p-liu-yang")
    open_lineage(browser, "实施意见", "D-PROV-001")
    nodes(browser)["D-PROV-001"].click()
    (record,) = site.gql("p-liu-yang", RECORDS, {"id": "D-PROV-001"})["item"]["records"]
    entry = wait(browser).until(
        ready.visibility_of_element_located((By.CSS_SELECTOR, f'li[data-record="{record["id"]}"]'))
    )
    # A derivation has its written record (D-11) and no review form.
    assert [b.text for b in entry.find_elements(By.TAG_NAME, "button")] == ["书面记录"]
    Select(browser.find_element(By.ID, "form-format")).select_by_value("csv")
    entry.find_element(By.TAG_NAME, "button").click()
    sheet = downloaded(folder, ".csv")
    assert sheet.name == f"派生国家秘密定密书面记录-{record['id']}.csv"
    expected = site.gql("p-liu-yang", RECORD_CSV, {"id": record["id"]})["recordForm"]["csv"]
    assert sheet.read_bytes().decode("utf-8") == expected  # BOM and CRLF kept
    sheet.unlink()
    Select(browser.find_element(By.ID, "form-format")).select_by_value("pdf")
    entry.find_element(By.TAG_NAME, "button").click()
    pdf = downloaded(folder, ".pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert "派生国家秘密定密书面记录" in "".join(extract_text(io.BytesIO(pdf)).split())


# --- signing out: the next reader on the same tab finds nothing of the last ---------------

ITEM = """query($id: ID!) { item(id: $id) { id title documentNumber keypoints { id title } } }"""
# Everything the page holds that a script of the page can reach: its markup, the values of
# its fields, its history entry and address, its storage, and the viewer's own state.
HELD = """
const plain = (key, value) =>
  value instanceof Map || value instanceof Set ? [...value] : value;
const storage = (s) => Object.fromEntries(Object.keys(s).map((k) => [k, s.getItem(k)]));
return JSON.stringify({
  html: document.documentElement.outerHTML,
  fields: [...document.querySelectorAll("input, textarea, select")].map((e) => e.value),
  history: history.state,
  address: location.href,
  session: storage(sessionStorage),
  local: storage(localStorage),
  state: window.lineageViewer ? window.lineageViewer.state : null,
}, plain);
"""


def secrets_of(site: Site, reader: str, other: str, roots: tuple[str, ...]) -> set[str]:
    """The ids, titles, document numbers and keypoints of the items `reader` sees in the
    lineages of `roots`, none of which `other` may read."""
    found: set[str] = set()
    for root in roots:
        graph = site.gql(reader, GRAPH, {"id": root})["lineageGraph"]["data"]
        for node in graph["nodes"]:
            assert not node["redacted"], "the first reader reads the whole lineage"
            assert site.gql(other, ITEM, {"id": node["id"]})["item"] is None
            item = site.gql(reader, ITEM, {"id": node["id"]})["item"]
            found |= {item["id"], item["title"], item["title"][:12]}
            found |= {item["documentNumber"]} if item["documentNumber"] else set()
            for keypoint in item["keypoints"]:
                found |= {keypoint["id"], keypoint["title"]}
    return found


def assert_holds_none(driver: WebDriver, secrets: set[str]) -> None:
    held = driver.execute_script(HELD)
    assert isinstance(held, str)
    kept = sorted(s for s in secrets if s in held)
    assert kept == [], f"the page still holds {kept}"


def enter_token(driver: WebDriver, bearer: str) -> None:
    """A token typed into the page as it stands, on the same tab (no new page opened)."""
    token = wait(driver).until(ready.visibility_of_element_located((By.ID, "token")))
    token.send_keys(bearer)
    driver.find_element(By.CSS_SELECTOR, "#signin button").click()


def look_around_as_the_first_reader(driver: WebDriver, site: Site) -> None:
    """孙红 opens a lineage from a link that names an item, finds another by its words, opens
    it, and opens the details of items with keypoints and written records."""
    driver.get(site.base + "/ui/?item=D-COUNTY-004")
    enter_token(driver, site.tokens["p-sun-hong"])
    wait(driver).until(
        ready.presence_of_element_located((By.CSS_SELECTOR, 'g.node.root[data-id="D-COUNTY-004"]'))
    )
    open_lineage(driver, "重点工程建设总体方案", "S-2024-012")
    nodes(driver)["S-2024-012"].click()
    wait(driver).until(ready.visibility_of_element_located((By.ID, "impact-form")))
    assert "S-2024-012.K1" in (
        driver.find_element(By.ID, "impact-keypoints").get_attribute("innerHTML") or ""
    )
    driver.find_element(By.CSS_SELECTOR, "#impact-form button[type=submit]").click()
    wait(driver).until(
        ready.text_to_be_present_in_element((By.ID, "impact-summary"), "尚未写入任何内容")
    )
    nodes(driver)["D-COUNTY-004"].click()
    wait(driver).until(ready.text_to_be_present_in_element((By.ID, "details"), "书面记录"))
    assert "某乡镇征地工作任务分解表（复制件）" in driver.find_element(By.ID, "details").text


def signed_in_as(driver: WebDriver, name: str) -> None:
    wait(driver).until(ready.text_to_be_present_in_element((By.ID, "user"), name))
    wait(driver).until(ready.visibility_of_element_located((By.ID, "query")))


def test_graphql_answers_are_kept_by_no_cache(site: Site) -> None:
    query = {"query": "{ me { userId } }"}
    signed = {"Authorization": f"Bearer {site.tokens['p-sun-hong']}"}
    answered = httpx2.post(site.base + "/graphql", json=query, headers=signed, timeout=10)
    refused = httpx2.post(site.base + "/graphql", json=query, timeout=10)
    assert (answered.status_code, refused.status_code) == (200, 401)
    assert answered.headers["cache-control"] == "no-store"
    assert refused.headers["cache-control"] == "no-store"


def test_after_signing_out_the_page_holds_nothing_of_the_reader(
    site: Site, browser: WebDriver
) -> None:
    secrets = secrets_of(site, "p-sun-hong", "p-he-jun", ("S-2024-012", "D-COUNTY-004"))
    look_around_as_the_first_reader(browser, site)
    held = browser.execute_script(HELD)
    seen = {s for s in secrets if s in held}  # the probe finds what the page holds
    assert {"S-2024-012", "S-2024-012.K1", "某乡镇征地工作任务分解表（复制件）"} <= seen
    # A request still under way when 退出 is clicked: its answer must show nowhere.
    browser.execute_script(
        "window.lineageViewer.select('S-2024-012'); document.getElementById('signout').click();"
    )
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "message"), "已退出"))
    assert not browser.find_element(By.ID, "query").is_displayed()
    assert browser.execute_script("return history.state") is None
    assert browser.current_url == site.base + "/ui/"
    assert_holds_none(browser, secrets)
    # Another reader, who may read none of those items, signs in on the same tab.
    enter_token(browser, site.tokens["p-he-jun"])
    signed_in_as(browser, "何军")
    assert_holds_none(browser, secrets)
    browser.find_element(By.ID, "query").send_keys("重点工程建设总体方案")
    browser.find_element(By.CSS_SELECTOR, "#search button").click()
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "message"), "没有找到"))
    assert_holds_none(browser, secrets)


def test_another_readers_token_without_signing_out_clears_the_page(
    site: Site, browser: WebDriver
) -> None:
    secrets = secrets_of(site, "p-sun-hong", "p-he-jun", ("S-2024-012", "D-COUNTY-004"))
    look_around_as_the_first_reader(browser, site)
    enter_token(browser, site.tokens["p-he-jun"])
    signed_in_as(browser, "何军")
    assert "孙红" not in browser.find_element(By.ID, "user").text
    assert_holds_none(browser, secrets)
    assert (
        browser.execute_script("return sessionStorage.getItem('lineage-token')")
        == (site.tokens["p-he-jun"])
    )


def test_pages_kept_for_back_and_forward_show_nothing_of_the_last_reader(
    site: Site, browser: WebDriver
) -> None:
    """Chromium keeps pages one leaves in its back-forward cache, as they were: the reader's
    lineage on one, the reader's statistics on the next. Gone back to after another reader
    has signed in, they show nothing of the first."""
    secrets = secrets_of(site, "p-sun-hong", "p-he-jun", ("S-2024-012",))
    sign_in(browser, site, "p-sun-hong")
    open_lineage(browser, "重点工程建设总体方案", "S-2024-012")
    browser.find_element(By.CSS_SELECTOR, "#whoami a[href='statistics.html']").click()
    year = wait(browser).until(ready.visibility_of_element_located((By.ID, "year")))
    year.clear()
    year.send_keys("2024")
    browser.find_element(By.CSS_SELECTOR, "#choose button[type=submit]").click()
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "message"), "2024 年"))
    assert browser.find_elements(By.CSS_SELECTOR, "#rows tbody tr")
    browser.find_element(By.CSS_SELECTOR, "a.back").click()  # a new viewer page, signed in
    signed_in_as(browser, "孙红")
    browser.find_element(By.ID, "signout").click()
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "message"), "已退出"))
    enter_token(browser, site.tokens["p-he-jun"])
    signed_in_as(browser, "何军")
    browser.back()  # the statistics as 孙红 saw them, kept
    wait(browser).until(lambda d: d.current_url.endswith("/statistics.html"))
    wait(browser).until(lambda d: d.execute_script("return document.readyState") == "complete")
    wait(browser).until(ready.visibility_of_element_located((By.ID, "year")))
    assert browser.find_elements(By.CSS_SELECTOR, "#rows tbody tr") == []
    assert "2024 年" not in browser.find_element(By.ID, "message").text
    browser.back()  # the first viewer page, with 孙红's lineage, kept
    signed_in_as(browser, "何军")
    assert_holds_none(browser, secrets)
