"""The page in a real browser: Debian's headless Chromium (driven by Playwright) against a real
`ocrwatch serve`. Screenshots are kept under test-artifacts/ (git-ignored) for a person to look at."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ocrwatch.index.query import fold
from tests.conftest import REPO
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
            expect(page.get_by_role("heading", name="See what the OCR read")).to_be_visible()

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
