"""Debian's headless Chromium driven by Playwright: the one set-up every browser test shares.

Importing this module skips the importing test module when Chromium is missing on a developer's machine, and
fails it under CI, where ``scripts/setup.sh`` installs the browser.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser tests (scripts/setup.sh installs it)")
    pytest.skip(
        "Debian's chromium is not installed (scripts/setup.sh installs it as root)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless browser; playwright's launch() gives it a fresh, temporary --user-data-dir."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A local file opened offline, recording every request, console error, page error and dialog."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.context = browser.new_context(offline=True)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def _route(self, route: Any) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            route.abort()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        self.context.close()

    def ids_on_all_pages(self, browser_index: int = 0) -> list[str]:
        section = self.page.locator("section.browser").nth(browser_index)
        seen: list[str] = []
        while True:
            seen += section.locator("details summary .qid").all_text_contents()
            nxt = section.locator("button.next")
            if nxt.is_disabled():
                return seen
            nxt.click()


Opener = Callable[[Path], Page]


@contextmanager
def page_opener(browser: Any) -> Iterator[Opener]:
    """A factory of offline pages in ``browser``, all closed at the end."""
    pages: list[Page] = []

    def factory(path: Path) -> Page:
        pages.append(Page(browser, path))
        return pages[-1]

    try:
        yield factory
    finally:
        for page in pages:
            page.close()
