"""The ops lead's page in a real headless Chromium (Debian's, by path; nothing downloaded).

Skipped with the reason where no browser is installed (`.ci/run` installs one). The page is
built from plain state with hostile client names, so what is checked is what `report --html`
writes for such data: the problems with their commands, text that stays text, no script run,
nothing fetched, no sideways scroll on a phone, no serious accessibility violation, A4 print.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sync.ops.page.model import build_page
from sync.ops.page.render import page_html
from tests.support import page_data as d
from tests.support.browser import Browser, axe_source, browser_or_skip, chromium

# A browser is a subprocess (the `slow` lane): chromedriver does not start under libfaketime,
# which the calendar-moved lane of .ci/run preloads, and nothing here depends on the date.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


class Listener:
    """A socket on 127.0.0.1 that counts the connections it is offered: it must see none."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    browser_or_skip()
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory, listener: Listener) -> Path:
    """The seeded state, with one more client whose name tries every way to fetch something
    from the listener, and one whose name is a single 300-character word."""
    base = f"http://127.0.0.1:{listener.port}"
    fetchers = (
        f'<img src="{base}/img"><link rel="stylesheet" href="{base}/css">'
        f'<iframe src="{base}/frame"></iframe><style>@import "{base}/import";</style>'
        f'<svg><image href="{base}/svg"/></svg><a href="{base}/click">x</a>'
    )
    st = d.seeded()
    labels = dict(st.labels)
    rid = "a0T00000000000AAAA"
    labels[rid] = {**labels[rid], "label": f"TR-00001 ({fetchers}{'W' * 300})"}
    html = page_html(build_page(replace(st, labels=labels), d.schedule(), now=d.NOW),
                     redact=lambda s: s.replace(d.SECRET, "***"))  # fmt: skip
    path = tmp_path_factory.mktemp("page") / "page.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_needs_a_person_lists_the_seeded_problems_with_their_commands(
    browser: Browser, page_file: Path
) -> None:
    browser.open(page_file)
    cards = browser.js(
        "return [...document.querySelectorAll('#person article')].map(a => ["
        " a.dataset.request, a.querySelector('h3').innerText,"
        " [...a.querySelectorAll('code')].map(c => c.innerText)])"
    )
    got = {(rid, tuple(cmds)) for rid, _, cmds in cards}
    assert ("a0T00000000000DAAA", ("python -m sync --only TR-00004",)) in got
    assert ("a0T00000000000EAAA", ("python -m sync undo TR-00005",)) in got
    assert ("a0T00000000000FAAA", ("python -m sync --only TR-00006",)) in got
    assert ("a0T00000000000BAAA", ("python -m sync --only TR-00002",)) in got
    assert ("a0T00000000000CAAA", ("python -m sync --only TR-00003",)) in got
    key = "a0T00000000000AAAA:manager_digest:tda_manager"
    assert ("a0T00000000000AAAA", (f"python -m sync resolve {key} --sent",
                                   f"python -m sync resolve {key} --resend")) in got  # fmt: skip
    assert len(cards) == 6
    headings = " ".join(h for _, h, _ in cards)
    assert d.IMG in headings
    assert d.SCRIPT in headings


def test_hostile_names_show_as_text_and_no_script_runs(browser: Browser, page_file: Path) -> None:
    browser.open(page_file)
    assert browser.js("return window.__pwned") is None
    assert browser.js("return document.title").startswith("Offboarding sync:")
    counts = browser.js(
        "return ['script', 'img', 'iframe', 'link', 'image', 'main style', 'a[href^=http]']"
        ".map(s => document.querySelectorAll(s).length)"
    )
    assert counts == [0, 0, 0, 0, 0, 0, 0]
    text = browser.js("return document.body.innerText")
    assert d.IMG in text
    assert d.SCRIPT in text
    assert "***" in text
    assert d.SECRET not in browser.js("return document.documentElement.outerHTML")


def test_the_page_makes_no_network_request(
    browser: Browser, page_file: Path, listener: Listener
) -> None:
    browser.open(page_file)
    for selector in ("details", "summary"):  # open every <details>: their content renders too
        browser.js(f"document.querySelectorAll('{selector}').forEach(e => e.open = true)")
    browser.js("return document.body.scrollHeight")
    assert browser.requests() == [page_file.resolve().as_uri()]
    assert listener.connections == 0
    violations = [m for m in browser.console() if "Content Security Policy" in m]
    assert violations == []  # nothing even tried: the escaping stopped it, not only the policy


def test_no_horizontal_scroll_at_375_px(browser: Browser, page_file: Path) -> None:
    browser.open(page_file, width=375, height=812)
    browser.js("document.querySelectorAll('details').forEach(e => e.open = true)")
    width = browser.js(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " Math.max(...[...document.querySelectorAll('body *')]"
        ".map(e => e.getBoundingClientRect().right))]"
    )
    assert width[1] == 375
    assert width[0] <= 375, width
    assert width[2] <= 375 + 0.5, width  # nothing sticks out, even where it would not scroll


def test_no_serious_or_critical_accessibility_violation(browser: Browser, page_file: Path) -> None:
    axe = axe_source()
    if axe is None:
        pytest.skip(
            "axe-core is not installed: .ci/run installs it (npm install --prefix .ci axe-core)"
        )
    for width in (1200, 375):
        browser.open(page_file, width=width)
        browser.js("document.querySelectorAll('details').forEach(e => e.open = true)")
        browser.js(axe)
        result = browser.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length,"
            " v.nodes.slice(0, 3).map(n => n.target.join(' '))])))"
            ".catch(e => done(['error', String(e)]))"
        )
        bad = [v for v in result if v[1] in ("serious", "critical") or v[0] == "error"]
        assert bad == [], (width, bad)


def test_prints_on_a4(browser: Browser, page_file: Path) -> None:
    browser.open(page_file)
    pdf = browser.pdf_a4()
    assert pdf.startswith(b"%PDF")
    boxes = set(re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf))
    assert boxes
    assert all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes)
