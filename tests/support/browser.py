"""Headless Chromium for the page's tests: Debian's `chromium` and `chromedriver`, by path.

Nothing is downloaded while tests run: Selenium is given both executables, so its driver
manager is never asked for one. Every session gets the issue's flags and a fresh profile, and
records the browser's performance log (every network request it made) and console (every CSP
violation). Where no browser is installed, `browser_or_skip` skips with the reason.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
AXE_CANDIDATES = (
    os.environ.get("AXE_CORE_JS", ""),
    str(Path(__file__).resolve().parents[2] / ".ci" / "node_modules" / "axe-core" / "axe.min.js"),
)


def why_no_browser() -> str:
    """'' when the browser tests can run here, else why not."""
    try:
        import selenium  # noqa: F401, PLC0415 - only asking whether it is there
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"no {path}: apt-get install -y {package} (.ci/run installs it)"
    return ""


def axe_source() -> str | None:
    for path in AXE_CANDIDATES:
        if path and Path(path).is_file():
            return Path(path).read_text(encoding="utf-8")
    return None


class Browser:
    """One Chromium session with helpers for what the tests check."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, path: Path, width: int = 1200, height: int = 900) -> None:
        """Load `path` at a viewport of `width` x `height`; requests() then tells what loading
        it asked for (the log so far, the browser's own start page included, is dropped)."""
        self.driver.get("about:blank")
        self.driver.get_log("performance")
        self.driver.get_log("browser")
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        self.driver.get(path.resolve().as_uri())

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def requests(self) -> list[str]:
        """Every URL the browser asked for since the last call (the page's own file included)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                urls.append(msg["params"]["request"]["url"])
        return urls

    def console(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser")]

    def screenshot(self, path: Path) -> None:
        full = self.js("return [document.documentElement.scrollWidth,"
                       " document.documentElement.scrollHeight]")  # fmt: skip
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": full[0], "height": min(full[1], 2400), "deviceScaleFactor": 1,
             "mobile": False},
        )  # fmt: skip
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))

    def pdf_a4(self) -> bytes:
        out = self.driver.execute_cdp_cmd(
            "Page.printToPDF",
            {"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True},
        )
        return base64.b64decode(out["data"])


@contextmanager
def chromium() -> Iterator[Browser]:
    from selenium import webdriver  # noqa: PLC0415 - the rest of the suite runs without it
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    profile = tempfile.mkdtemp(prefix="page-test-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        yield Browser(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def browser_or_skip() -> None:
    why = why_no_browser()
    if why:
        pytest.skip(f"no headless browser here: {why}")
