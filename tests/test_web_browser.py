"""The page in a real browser: Debian's headless Chromium (driven by Playwright) against a real
`ocrwatch serve`. Screenshots are kept under test-artifacts/ (git-ignored) for a person to look at."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ocrwatch.index.search.query import fold
from tests.conftest import REPO
from tests.daemon_helpers import RunningDaemon, wait_for
from tests.webserver import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_DEADLINE = 180.0
"""Seconds for `ocrwatch serve` to load the engine and answer; generous for a loaded machine."""
WAIT_MS = 120_000
"""Playwright waits (ms) for OCR results to be drawn."""
RECEIPT = "000"
STALE_HIT = {
    "document_id": 999,
    "page": 1,
    "path": "/elsewhere/stale.jpg",
    "rank": -1.0,
    "snippet": [{"text": "stale", "match": True}],
    "words": [],
    "width": 10,
    "height": 10,
    "document_url": "/api/documents/999",
    "image_url": "/api/documents/999/pages/1/image",
    "annotated_url": "/api/documents/999/pages/1/annotated",
    "thumbnail_url": "/api/documents/999/pages/1/thumbnail",
}
"""A search answer for an older query, held back until the latest query's answer was shown."""


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `ocrwatch serve` process on a free loopback port, with an empty index."""
    root = tmp_path_factory.mktemp("serve")
    port = free_port()
    log = (root / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "ocrwatch", "serve", "--output", str(root / "out"), "--port", str(port)],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_DEADLINE
        while True:
            if process.poll() is not None:
                pytest.fail(f"ocrwatch serve exited:\n{(root / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"ocrwatch serve did not answer in time:\n{(root / 'serve.log').read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
        log.close()


def expected_words(data_dir: Path) -> set[str]:
    """The company name's words from the receipt's key (SROIE's own labels), as searchable tokens."""
    company = json.loads((data_dir / "sroie" / "key" / f"{RECEIPT}.json").read_text())["company"]
    return {token for token in fold(company) if len(token) >= 3}


def test_upload_see_words_search_and_open_the_hit(
    chromium: Path, server: str, data_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    # Playwright needs the receipt under a name it can upload; the data set itself stays read-only.
    receipt = tmp_path / f"{RECEIPT}.jpg"
    shutil.copyfile(data_dir / "sroie" / "img" / f"{RECEIPT}.jpg", receipt)
    wanted = expected_words(data_dir)
    assert wanted, "the receipt's key names a company"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.goto(server + "/")
            expect(page.get_by_role("heading", name="Hot folder")).to_be_visible()

            # Drop (pick) a receipt, keeping it in the index.
            page.get_by_label("Add it to the index").check()
            page.set_input_files("#file", str(receipt))
            expect(page.locator("#upload-status")).to_contain_text("added to the index", timeout=WAIT_MS)
            drawn = page.eval_on_selector_all(
                "#overlay polygon title", "nodes => nodes.map(n => n.textContent)"
            )
            read = {token for title in drawn for token in fold(title.split(" — ")[0])}
            assert wanted <= read, f"company words {sorted(wanted - read)} were not drawn"
            assert all("% confident" in title for title in drawn)

            # Hovering a word shows its confidence; so does the keyboard.
            page.hover("#overlay polygon >> nth=3")
            expect(page.locator("#tip")).to_contain_text("% confident")
            page.focus("#overlay")
            page.keyboard.press("ArrowRight")
            expect(page.locator("#word-live")).to_contain_text("confident, word 2 of")
            page.screenshot(path=ARTIFACTS / "web-upload.png")

            # Search as you type, for a word of the company name.
            word = "taman" if "taman" in wanted else sorted(wanted)[0]
            page.get_by_role("searchbox").press_sequentially(word[:4], delay=60)  # a prefix finds it already
            hit = page.locator("#results .hit").first
            expect(hit).to_be_visible(timeout=30_000)
            expect(hit.locator("mark").first).to_have_text(word, ignore_case=True)
            expect(page.locator("#result-count")).to_contain_text("match")
            expect(hit.locator("img.thumb")).to_have_js_property("complete", True)
            assert hit.locator("img.thumb").evaluate("img => img.naturalWidth") > 0

            # Open it: the page image with the matching words' boxes highlighted, the text beside it.
            hit.click()
            expect(page.locator("#overlay polygon.match").first).to_be_attached(timeout=30_000)
            expect(page.locator("#page-image")).to_have_js_property("complete", True)
            assert page.locator("#page-image").evaluate("img => img.naturalWidth") > 0
            marked = page.locator("#text .w.match").all_text_contents()
            assert marked and all(word in fold(text) for text in marked)
            page.get_by_role("button", name="Copy text").click()
            expect(page.get_by_role("button", name="Copied ✓")).to_be_visible()
            copied = page.evaluate("navigator.clipboard.readText()")
            assert word in fold(copied)
            page.wait_for_timeout(600)  # let the smooth scroll to the match settle for the screenshot
            page.screenshot(path=ARTIFACTS / "web-search-hit.png")

            # A phone-sized screen: nothing wider than the screen.
            page.set_viewport_size({"width": 390, "height": 844})
            hit.click()  # on a phone the viewer sits below the lists: opening a hit scrolls to it
            expect(page.locator("#viewer")).to_be_in_viewport()
            page.wait_for_timeout(300)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            page.screenshot(path=ARTIFACTS / "web-phone.png")
            assert not errors, errors
        finally:
            browser.close()


def test_the_dashboard_retries_a_failure_live_and_the_address_bar_holds_the_view(
    chromium: Path, data_dir: Path, tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    """A real daemon serves the page. A receipt arrives damaged and fails; its good copy then takes its
    place with the same size and mtime (restored from a backup, say), so the daemon cannot tell it
    changed: only Retry makes it read again. The page shows all of it without being reloaded."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    inbox, staging = tmp_path / "inbox", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    good = (data_dir / "sroie" / "img" / f"{RECEIPT}.jpg").read_bytes()
    bad = inbox / "receipt.jpg"
    bad.write_bytes(bytes(64) + good[64:])  # its JPEG header gone: not an image any more
    port = free_port()
    daemon = RunningDaemon(
        tmp_path, {"watch": [{"folder": "inbox"}], "web": {"enabled": True, "port": port}, "workers": 1}
    )
    daemons.append(daemon.start())
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: daemon.statuses().get(str(bad)) == "failed", "the damaged receipt to fail")
    word = "taman" if "taman" in expected_words(data_dir) else sorted(expected_words(data_dir))[0]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.goto(url + "/")

            # The failure, with its reason, and the folder's counts beside its running daemon.
            failure = page.locator("#failures li", has_text="receipt.jpg")
            expect(failure).to_contain_text("not an image or PDF", timeout=30_000)
            folder = page.locator('#folders tr[data-folder="inbox"]')
            expect(folder.locator('[data-count="failed"]')).to_have_text("1")
            expect(folder.locator(".state")).to_have_text("running")
            page.screenshot(path=ARTIFACTS / "web-dashboard-failed.png")
            page.evaluate("window.notReloaded = true")

            # The good copy in its place, unchanged to the daemon's eyes: it stays failed by itself.
            fixed = staging / "receipt.jpg"
            fixed.write_bytes(good)
            seen = bad.stat()
            os.utime(fixed, ns=(seen.st_atime_ns, seen.st_mtime_ns))
            assert fixed.stat().st_size == seen.st_size
            os.replace(fixed, bad)
            time.sleep(3)  # settle_seconds is 1: long enough for the daemon to have queued a change
            assert daemon.statuses()[str(bad)] == "failed"

            failure.get_by_role("button", name="Retry receipt.jpg").click()
            expect(failure).to_have_count(0, timeout=WAIT_MS)
            expect(folder.locator('[data-count="done"]')).to_have_text("1", timeout=WAIT_MS)
            expect(folder.locator('[data-count="failed"]')).to_have_text("0")
            expect(page.locator("#recent .hit-title").first).to_have_text("receipt.jpg")
            assert daemon.statuses()[str(bad)] == "done"
            assert page.evaluate("window.notReloaded === true"), "the page was updated live, not reloaded"
            page.screenshot(path=ARTIFACTS / "web-dashboard-done.png")

            # Search as you type, the answer to the first letters held back until after the latest's:
            # the list shows the latest query's results, never the older one's.
            held: list = []
            page.route("**/api/search?*", lambda route: held.append(route))
            box = page.get_by_role("searchbox")
            box.press_sequentially(word[:2], delay=60)
            wait_for(lambda: page.wait_for_timeout(50) or held, "the first search", timeout=30)
            box.press_sequentially(word[2:], delay=60)
            wait_for(lambda: page.wait_for_timeout(50) or len(held) == 2, "the latest search", timeout=30)
            older, latest = held
            assert "q=" + word[:2] in older.request.url and "q=" + word in latest.request.url
            latest.continue_()
            hit = page.locator("#results .hit").first
            expect(hit.locator("mark").first).to_have_text(word, ignore_case=True, timeout=30_000)
            with contextlib.suppress(PlaywrightError):  # the page may have cancelled it: fine too
                older.fulfill(json={"query": word[:2], "limit": 20, "offset": 0, "hits": [STALE_HIT]})
            page.wait_for_timeout(500)
            page.unroute("**/api/search?*")
            expect(page.locator("#result-count")).to_contain_text(f"“{word}”")
            expect(page.locator("#results .hit-title", has_text="stale.jpg")).to_have_count(0)

            # Open the hit: the address bar holds the query and the document.
            expect(page).to_have_url(f"{url}/?q={word}")
            hit.click()
            expect(page.locator("#overlay polygon.match").first).to_be_attached(timeout=30_000)
            expect(page).to_have_url(re.compile(rf"\?q={word}&doc=\d+&page=1$"))
            page.get_by_role("button", name="Copy link").click()
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied == page.url

            def assert_the_hit_is_open(view) -> None:
                expect(view.locator("#viewer-title")).to_have_text("receipt.jpg", timeout=30_000)
                expect(view.locator("#overlay polygon.match").first).to_be_attached(timeout=30_000)
                expect(view.get_by_role("searchbox")).to_have_value(word)
                expect(view.locator("#results .hit[aria-current]")).to_have_count(1)
                expect(view.locator("#dashboard")).to_be_hidden()

            # The copied link opens the same view in another tab, and a reload keeps it.
            other = context.new_page()
            other.goto(copied)
            assert_the_hit_is_open(other)
            other.close()
            page.reload()
            assert_the_hit_is_open(page)
            page.screenshot(path=ARTIFACTS / "web-address-bar.png")

            # Back: the results without the document, then the dashboard as it was first; Forward again.
            page.go_back()
            expect(page).to_have_url(f"{url}/?q={word}")
            expect(page.locator("#viewer")).to_be_hidden()
            expect(page.locator("#dashboard")).to_be_visible()
            expect(page.locator("#results .hit").first).to_be_visible()
            page.go_back()
            expect(page).to_have_url(f"{url}/")
            expect(page.get_by_role("searchbox")).to_have_value("")
            expect(page.locator("#recent-card")).to_be_visible()
            expect(page.locator("#results-card")).to_be_hidden()
            page.go_forward()
            page.go_forward()
            assert_the_hit_is_open(page)

            # A filter and no words: the documents that pass, newest read first, in the latest's place.
            page.goto(url + "/")
            expect(page.locator("#recent-card")).to_be_visible()
            page.locator("#filters summary").click()
            folders = page.locator('#search-form select[name="folder"]')
            folders.select_option("inbox")  # waits for the dashboard to have listed the folder
            expect(page).to_have_url(f"{url}/?folder=inbox")
            expect(page.locator("#recent-card")).to_be_hidden()
            expect(page.locator("#results .hit-title")).to_have_text(["receipt.jpg"], timeout=30_000)
            expect(page.locator("#result-count")).to_have_text("1 page passes the filters")
            expect(page.locator("#results mark")).to_have_count(0)
            page.screenshot(path=ARTIFACTS / "web-filters-alone.png")
            folders.select_option("")
            expect(page.locator("#recent-card")).to_be_visible()
            expect(page.locator("#results-card")).to_be_hidden()
            assert not errors, errors
        finally:
            browser.close()
