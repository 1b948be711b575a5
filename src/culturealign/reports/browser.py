"""Open a report in a real headless Chromium: what it fetched, what is visible, a screenshot.

Used by the browser test (the report must be self-contained and readable on a phone) and by
``scripts/screenshot_report.py`` for the picture in the README. Needs the ``browser`` extra
(playwright) and a Chromium binary (Debian: ``apt-get install chromium``); playwright's own
browser download is not needed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from culturealign.errors import CultureAlignError

# Flags for a sandboxed, offline machine: no background connections, no GPU, no first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class PageCheck:
    """What the browser saw when it loaded one report page at one viewport width."""

    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    tables: int = 0
    visible_tables: int = 0
    images: int = 0
    decoded_images: int = 0  # images the browser decoded (naturalWidth > 0) and shows
    scroll_width: int = 0  # document width: above the viewport means sideways scrolling
    viewport_width: int = 0
    title: str = ""


def chromium_path() -> str:
    """The Chromium binary: $CHROMIUM, else chromium / chromium-browser / google-chrome on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise CultureAlignError(
        "no Chromium browser found", "apt-get install chromium (or set CHROMIUM=/path/to/chrome)"
    )


def check_page(html: Path, screenshot: Path | None = None, width: int = 1280) -> PageCheck:
    """Load ``html`` in headless Chromium at ``width`` px and report what it requested and shows."""
    from playwright.sync_api import sync_playwright

    check = PageCheck(viewport_width=width)
    url = html.resolve().as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            # Below 600 px, emulate a phone: the page's viewport meta tag then decides the layout.
            phone = width < 600
            page = browser.new_page(
                viewport={"width": width, "height": 900}, is_mobile=phone, has_touch=phone
            )
            page.on("request", lambda request: check.requests.append(request.url))
            page.goto(url, wait_until="load")
            check.title = page.title()
            tables = page.locator("table")
            check.tables = tables.count()
            check.visible_tables = sum(tables.nth(i).is_visible() for i in range(check.tables))
            check.images = page.locator("img").count()
            check.decoded_images = int(
                page.evaluate(
                    "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0"
                    " && i.getBoundingClientRect().width > 0).length"
                )
            )
            check.scroll_width = int(page.evaluate("document.documentElement.scrollWidth"))
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    check.requests = [u for u in check.requests if u != url]
    return check
