"""The event explorer at `/`: a static page built only on the public API, checked in headless Chromium (Debian's
/usr/bin/chromium driven by Playwright) against a real server with the bundled data, with every host but 127.0.0.1
unresolvable. What the page shows is compared with what the API answers for the same query, never with numbers
written here. Screenshots at desktop and phone width go to test-artifacts/ (gitignored; DIPEVENTS_TEST_ARTIFACTS
moves them)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from app.guards import EXPLORER_CSP
from tests.helpers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("DIPEVENTS_TEST_ARTIFACTS") or ROOT / "test-artifacts")
# CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"{CHROMIUM} is missing: `apt-get install chromium` to test the explorer in a browser",
)
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


# ---------------------------------------------------------------------------------------------- the files


def test_root_serves_the_explorer_under_a_strict_csp(client):
    response = client.get("/", headers={"Host": "evil.example"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == EXPLORER_CSP
    page = response.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "an inline script needs 'unsafe-inline'"
    assert " style=" not in page and "<style" not in page, "an inline style needs 'unsafe-inline'"
    urls = re.findall(r'(?:src|href)="([^"#]*)"', page)
    # Relative URLs only: no other host, and nothing a proxy's path prefix would break.
    assert urls and all(not u.startswith(("/", "http:", "https:", "//")) for u in urls), urls
    assert {"docs", "redoc", "openapi.json"} <= set(urls), "the page leads to the API documentation"
    for url in urls:
        asset = client.get(f"/{url}")
        assert asset.status_code == 200, url
    for asset in ("explorer/explorer.js", "explorer/charts.js"):
        assert client.get(f"/{asset}").headers["content-type"].startswith("text/javascript")
    assert client.head("/").status_code == 200


def test_explorer_csp_allows_this_origin_only():
    directives = dict(d.strip().split(" ", 1) for d in EXPLORER_CSP.split(";"))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "connect-src"):
        assert directives[name] == "'self'", name
    assert "unsafe" not in EXPLORER_CSP and "sha256" not in EXPLORER_CSP
    assert not re.search(r"https?:|\*|data:|blob:", EXPLORER_CSP), "the explorer names another source"


def test_explorer_stays_out_of_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/explorer")]


# -------------------------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api", reason="install the test extras (playwright)")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (CI installs Debian's chromium)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            # Offline: every host but the test server is unresolvable, so a CDN asset would fail to load.
            args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        yield chromium
        chromium.close()


class Page:
    """One browser tab on the explorer that records what would betray a broken page: console messages (a CSP
    violation or a failed asset is one), script errors, and requests to any other origin."""

    def __init__(self, browser, base: str, viewport: dict[str, int]) -> None:
        self.base = base
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on(
            "request",
            lambda r: r.url.startswith(base) or self.problems.append(f"request to another origin: {r.url}"),
        )

    def open(self, path: str = "/") -> None:
        self.page.goto(self.base + path)
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-state=ready]")

    def event_open(self, event_id: str) -> None:
        self.page.wait_for_selector(f'#detail-body[data-event="{event_id}"]')

    def list_ids(self) -> list[str]:
        return self.page.eval_on_selector_all("#event-list > li", "els => els.map(e => e.dataset.eventId)")

    def timeline(self) -> list[dict]:
        """Each timeline bar: event id, drawing kind, and the bar's left and right edges in pixels."""
        return self.page.eval_on_selector_all(
            "#timeline a[data-event-id]",
            """links => links.map(a => {
                const box = a.querySelector('.bar-shape').getBBox();
                const kind = ['exact', 'uncertain', 'imprecise'].find(k => a.classList.contains(k));
                return {id: a.dataset.eventId, kind, x0: box.x, x1: box.x + box.width, text: a.textContent};
            })""",
        )

    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.page.url).query)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser, live_url) -> Iterator[Page]:
    page = Page(browser, live_url, DESKTOP)
    yield page
    page.close()
    assert page.problems == [], "\n".join(page.problems)


def api_events(base: str, params: dict[str, str]) -> list[dict]:
    """Every event the API lists for `params`, following `next_cursor`."""
    items: list[dict] = []
    cursor = None
    with httpx.Client(base_url=base, timeout=10) as http:
        while True:
            response = http.get("/v1/events", params=params | {"limit": 7} | ({"cursor": cursor} if cursor else {}))
            assert response.status_code == 200, response.text
            items += response.json()["items"]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return items


def kind_of(event: dict) -> str:
    """How the API's date of an event should be drawn (the page's rule, restated from the contract)."""
    date = event["date"]
    if date["precision"] != "day" or date["end"] is None or (event["quantity"] or 1) > 1:
        return "imprecise"
    return "uncertain" if date["approximate"] or date["uncertain"] else "exact"


def choose_actor(tab: Page, typed: str, actor_id: str) -> None:
    """Pick an actor with the keyboard only: type, arrow down to it, Enter."""
    field = tab.page.locator("#f-actor")
    field.focus()
    field.press_sequentially(typed)
    tab.page.wait_for_selector(f'#actor-options li[data-actor-id="{actor_id}"]')
    for _ in range(10):
        active = tab.page.eval_on_selector("#f-actor", "el => el.getAttribute('aria-activedescendant')")
        if active and tab.page.get_attribute(f"#{active}", "data-actor-id") == actor_id:
            break
        field.press("ArrowDown")
    else:
        raise AssertionError(f"the arrow keys never reached {actor_id}")
    field.press("Enter")
    tab.page.wait_for_selector(f'#actor-chips li[data-actor-id="{actor_id}"]')
    tab.ready()


def load_all(tab: Page) -> None:
    while tab.page.is_visible("#more"):
        before = len(tab.list_ids())
        tab.page.click("#more")
        tab.page.locator("#event-list > li").nth(before).wait_for()


@needs_chromium
def test_load_more_follows_the_cursor_to_every_event(tab, live_url):
    tab.open()
    everything = [e["id"] for e in api_events(live_url, {})]
    first_page = tab.list_ids()
    assert 0 < len(first_page) < len(everything), "the bundled data should need a second page"
    assert first_page == everything[: len(first_page)]
    load_all(tab)
    assert tab.list_ids() == everything
    assert [bar["id"] for bar in tab.timeline()] == everything
    # The timeline is one tab stop: the arrow keys move between its bars, Enter opens one.
    tab.page.focus("#timeline a[tabindex='0']")
    tab.page.keyboard.press("ArrowDown")
    tab.page.keyboard.press("Enter")
    tab.event_open(everything[1])
    assert ("event", everything[1]) in tab.query()


@needs_chromium
def test_filters_show_exactly_what_the_api_returns_and_the_url_replays_the_view(tab, browser, live_url):
    tab.open()
    tab.page.fill("#f-start", "2019")
    tab.page.fill("#f-end", "2019")
    tab.page.press("#f-end", "Enter")
    tab.ready()
    choose_actor(tab, "pakistan", "pakistan")
    choose_actor(tab, "united st", "united-states")
    filters = {"start": "2019", "end": "2019", "actor": "pakistan,united-states"}
    assert tab.query() == list(filters.items()), "the URL holds the API's own parameters"

    expected = api_events(live_url, filters)
    assert expected and len(expected) < len(api_events(live_url, {})), "the filters should narrow the data"
    load_all(tab)
    ids = [e["id"] for e in expected]
    assert tab.list_ids() == ids
    bars = tab.timeline()
    assert [bar["id"] for bar in bars] == ids
    assert [bar["kind"] for bar in bars] == [kind_of(e) for e in expected]
    assert "imprecise" in {b["kind"] for b in bars} and "exact" in {b["kind"] for b in bars}

    # A record standing for several occurrences over years spans the chart, marked with its count; a dated
    # visit is a short solid bar.
    by_id = {e["id"]: e for e in expected}
    repeated = next(b for b in bars if (by_id[b["id"]]["quantity"] or 1) > 1)
    dated = next(b for b in bars if by_id[b["id"]]["type"] == "visit" and b["kind"] == "exact")
    assert repeated["text"].startswith(f"{by_id[repeated['id']]['quantity']}× ")
    assert repeated["x1"] - repeated["x0"] > 20 * (dated["x1"] - dated["x0"])

    # The counts table holds the API's timeline for the same filters.
    with httpx.Client(base_url=live_url, timeout=10) as http:
        buckets = http.get("/v1/events/timeline", params=filters | {"interval": "month"}).json()["buckets"]
    rows = tab.page.eval_on_selector_all(
        "#counts-table tbody tr", "rows => rows.map(r => [...r.cells].slice(1).map(c => Number(c.textContent)))"
    )
    assert rows == [[b["count"], b["imprecise"]] for b in buckets]

    # Open an event with the keyboard and take the URL to a new browser: the same view comes back.
    chosen = next(e for e in expected if e["discrepancies"] and e["citations"])
    tab.page.focus(f'#event-list a[data-event-id="{chosen["id"]}"]')
    tab.page.keyboard.press("Enter")
    tab.event_open(chosen["id"])
    assert tab.page.evaluate("document.activeElement.id") == "detail-h"
    shared = tab.page.url
    assert ("event", chosen["id"]) in tab.query()

    other = Page(browser, live_url, PHONE)
    try:
        other.page.goto(shared)
        other.ready()
        other.event_open(chosen["id"])
        load_all(other)
        assert other.list_ids() == ids
        assert [bar["id"] for bar in other.timeline()] == ids
        assert other.page.input_value("#f-start") == "2019" and other.page.input_value("#f-end") == "2019"
        chips = other.page.eval_on_selector_all("#actor-chips li", "els => els.map(e => e.dataset.actorId)")
        assert chips == ["pakistan", "united-states"]
        assert other.page.inner_text("#detail-h") == chosen["title"]
    finally:
        other.close()
    assert other.problems == [], "\n".join(other.problems)

    # Back leads to the view before the event was opened.
    tab.page.go_back()
    tab.page.wait_for_selector("#detail-body:not([data-event])", state="attached")
    assert tab.query() == list(filters.items())


@needs_chromium
def test_event_detail_shows_participants_sources_and_locators(tab, live_url):
    events = api_events(live_url, {})
    event = next(e for e in events if e["discrepancies"] and e["citations"] and e["locators"])
    with httpx.Client(base_url=live_url, timeout=10) as http:
        source = http.get(f"/v1/sources/{event['locators'][0]['source']}").json()
    sections = {s["key"]: s["title"] for s in source["sections"]}

    tab.open(f"/?event={event['id']}")
    tab.event_open(event["id"])
    detail = tab.page.locator("#detail")
    text = detail.inner_text()
    assert tab.page.inner_text("#detail-h") == event["title"]
    for participant in event["participants"]:
        assert f"{participant['actor']['name']} — {participant['role'].replace('_', ' ')}" in text
    for topic in event["topics"]:
        assert topic["label"] in text
    for discrepancy in event["discrepancies"]:
        assert discrepancy["resolution"] in text
        for reading in discrepancy["readings"]:
            assert reading["value"] in text and reading["per"] in text
    locators = detail.locator("li.locator")
    assert locators.count() == len(event["locators"])
    for i, locator in enumerate(event["locators"]):
        shown = locators.nth(i)
        assert shown.get_attribute("data-section") == locator["section"]
        line = shown.inner_text()
        assert sections[locator["section"]] in line and source["title"] in line
        for part, value in (("paragraph", locator["paragraph"]), ("footnote", locator["footnote"])):
            assert (f"{part} {value}" in line) == (value is not None), line
    citations = detail.locator("li.citation")
    assert citations.count() == len(event["citations"])
    for i, citation in enumerate(event["citations"]):
        shown = citations.nth(i)
        assert shown.get_attribute("data-citation-id") == citation["id"]
        assert f"Footnote {citation['footnote']}" in shown.inner_text()
        link = shown.locator("a")
        assert link.get_attribute("href") == citation["url"] and citation["title"] in link.inner_text()


@needs_chromium
def test_export_links_carry_the_view_and_answer(tab, live_url):
    tab.open("/?topic=kashmir-dispute&type=mediation_offer,denial")
    links = dict(
        tab.page.eval_on_selector_all("#exports a", "els => els.map(a => [a.textContent, a.getAttribute('href')])")
    )
    filters = "topic=kashmir-dispute&type=mediation_offer,denial"
    assert links["Events as CSV"] == f"v1/events/export.csv?{filters}"
    assert links["Events as iCalendar"] == f"v1/events/export.ics?{filters}"
    expected = api_events(live_url, dict(parse_qsl(filters)))
    with httpx.Client(base_url=live_url + "/", timeout=10) as http:
        csv = http.get(links["Events as CSV"])
        assert csv.status_code == 200 and all(e["id"] in csv.text for e in expected)
        ics = http.get(links["Events as iCalendar"])
        assert ics.status_code == 200 and ics.text.count("BEGIN:VEVENT") == len(expected)
        cited = {c["id"] for e in expected for c in e["citations"]}
        for label, media in (("CSL-JSON", "json"), ("RIS", "research-info"), ("BibTeX", "x-bibtex")):
            response = http.get(links[label])
            assert response.status_code == 200 and media in response.headers["content-type"], label
            assert all(c in response.text for c in cited), label
        shown = tab.page.eval_on_selector_all("#cited-sources li.citation", "els => els.map(e => e.dataset.citationId)")
        assert set(shown) == cited


@needs_chromium
def test_a_refused_query_names_its_parameter(tab):
    tab.open()
    tab.page.fill("#f-start", "2019-13")
    tab.page.press("#f-start", "Enter")
    tab.page.wait_for_selector("body[data-state=error]")
    assert "start" in tab.page.inner_text("#error")
    assert tab.page.get_attribute("#f-start", "aria-invalid") == "true"
    # A 400 is an answer, not a page error: the console stays quiet apart from the failed fetches it logs.
    tab.problems[:] = [p for p in tab.problems if "400 (Bad Request)" not in p]


AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map(n => n.target.join(' ')).slice(0, 5).join(', ')}`);
}"""


@needs_chromium
@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_accessibility_and_screenshots(browser, live_url, name, viewport):
    """axe-core (vendored, run inside the page) finds no serious or critical violation on a filtered view with an
    event open, the counts table shown and the typeahead open; the screenshots are kept for people to look at."""
    tab = Page(browser, live_url, viewport)
    try:
        tab.open("/?start=2019&end=2019&actor=pakistan,united-states,imran-khan,donald-trump&topic=kashmir-dispute")
        first = tab.list_ids()[0]
        tab.page.click(f'#event-list a[data-event-id="{first}"]')
        tab.event_open(first)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"explorer-{name}.png"
        tab.page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 30_000, f"{shot} looks blank"
        width = tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the page scrolls sideways at {viewport['width']} px ({width} px)"

        tab.page.click("details:has(#counts-table) > summary")
        tab.page.locator("#f-actor").press_sequentially("kh")
        tab.page.wait_for_selector("#actor-options li[role=option]")
        tab.page.evaluate("() => {\n" + AXE.read_text(encoding="utf-8") + "\n}")
        violations = tab.page.evaluate(AXE_RUN)
        assert violations == [], "\n".join(violations)
    finally:
        tab.close()
    assert tab.problems == [], "\n".join(tab.problems)


@needs_chromium
def test_the_typeahead_offers_the_name_typed_first_and_a_typed_name_is_never_dropped(tab):
    tab.open()
    field = tab.page.locator("#f-actor")
    field.focus()
    # Partial words find actors (the API's `q` matches whole words: the page asks for prefixes), and the name
    # typed comes before the names that merely contain it ("Government of Pakistan"), so Enter picks it.
    field.press_sequentially("Pakistan")
    tab.page.wait_for_selector('#actor-options li[data-actor-id="pakistan"]')
    first = tab.page.get_attribute("#actor-options li[role=option]", "data-actor-id")
    assert first == "pakistan"
    field.press("Enter")
    tab.page.wait_for_selector('#actor-chips li[data-actor-id="pakistan"]')
    tab.ready()
    # A name typed but not chosen is not silently left out: Apply says so and changes nothing.
    before = tab.page.url
    field.press_sequentially("Trum")
    tab.page.wait_for_selector('#actor-options li[data-actor-id="donald-trump"]')
    tab.page.keyboard.press("Escape")
    tab.page.click("#filters button[type=submit]")
    tab.page.wait_for_selector("#error:not([hidden])")
    assert "not chosen" in tab.page.inner_text("#error")
    assert tab.page.get_attribute("#f-actor", "aria-invalid") == "true"
    assert tab.page.url == before


@needs_chromium
def test_a_url_the_page_cannot_show_as_the_api_reads_it_says_so(tab, live_url):
    # Repeated topics mean "all of them" to the API; the page's topic filter is "any of them": it must say so rather
    # than silently show another answer. A URL the page can show says nothing.
    for query, expected in (
        ("?topic=kashmir-dispute&topic=afghanistan-peace-process", "“topic” is given 2 times"),
        ("?country=US", "“country” is not one of the explorer's filters"),
    ):
        tab.page.goto(f"{live_url}/{query}")
        tab.ready()
        assert expected in tab.page.inner_text("#error")
        assert "null" not in tab.page.inner_text("#error")
    tab.page.goto(f"{live_url}/?start=2019&end=2019")
    tab.ready()
    assert tab.page.is_hidden("#error")
