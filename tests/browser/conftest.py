"""Fixtures of the browser tests: headless Chromium driven by Playwright, the site served locally.

The browser is the system's Chromium (tools/chromium.py finds it); Playwright's own browser
downloads are never used. Without a Chromium the tests are skipped with one line saying how
to install it, unless ``DCLEARN_REQUIRE_BROWSER=1`` (set by .ci/run), under which a missing
browser or a missing site is an error. Pages may only load from the local server: any other
request is aborted and reported by the tests.
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading

import pytest
from browserkit import ROOT, SITE, free_port

sys.path.insert(0, str(ROOT / "tools"))
from chromium import INSTALL_HINT, find_chromium  # noqa: E402


def _required() -> bool:
    import os

    return os.environ.get("DCLEARN_REQUIRE_BROWSER") == "1"


def _missing(message: str):
    if _required():
        pytest.fail(message + " (DCLEARN_REQUIRE_BROWSER=1: the browser tests may not be skipped)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    path = find_chromium()
    if path is None:
        _missing(INSTALL_HINT)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("browser tests skipped: the playwright package is not installed "
                 "(pip install -e '.[dev]')")
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        browser = p.chromium.launch(executable_path=path, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").exists():
        _missing(f"no built site in {SITE}: run `make site` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
