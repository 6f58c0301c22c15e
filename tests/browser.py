"""What the page's browser tests share: Debian's Chromium, and `evplant serve` started
as a user starts it.

A test that needs the browser skips, with the reason, where /usr/bin/chromium (or the
playwright package) is missing, unless EVPLANT_REQUIRE_BROWSER is set (CI sets it):
then it fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("EVPLANT_CHROMIUM", "/usr/bin/chromium"))


def need_browser() -> None:
    missing = not CHROMIUM.exists()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        why = f"needs Debian's chromium at {CHROMIUM} and the playwright package"
        if os.environ.get("EVPLANT_REQUIRE_BROWSER"):
            pytest.fail(f"EVPLANT_REQUIRE_BROWSER is set but the browser test {why}")
        pytest.skip(why)


@contextmanager
def serving(scenario: str, out: Path) -> Iterator[str]:
    """`evplant serve SCENARIO --port 0` in a subprocess; yields the address it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "evplant.cli", "serve", scenario, "--port", "0", "--out",
         str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    url, lines, t0 = "", [], time.monotonic()
    while not url and time.monotonic() - t0 < 180:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"(http://\S+/)", line)
        url = m.group(1) if m else ""
    try:
        assert url, "the server did not start:\n" + "".join(lines)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def open_page(browser: Any, url: str) -> Any:
    """A fresh browser session on the page, once its first figures are drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
    pg = context.new_page()
    pg.goto(url)
    pg.wait_for_selector("#fig-production .main-svg", timeout=120_000)
    wait_ready(pg)
    return pg


def wait_ready(pg: Any, timeout: float = 120_000) -> None:
    pg.wait_for_function(
        "() => { const s = document.querySelector('#status'); return s && "
        "(s.textContent.startsWith('ready') || s.textContent.includes('done')); }",
        timeout=timeout,
    )
