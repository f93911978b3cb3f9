"""The page of a real sandbox agency: every request `status` lists and every problem is on it,
and with hostile account names Chromium shows them as text, runs no script, fetches nothing."""

from __future__ import annotations

import html as html_lib
import io
import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sync.cli.reports import status_command
from sync.cli.schedule import cron_trigger
from sync.ops.page.facts import open_requests
from sync.ops.page.facts_text import status_text
from sync.ops.page.model import build_page
from sync.ops.page.problems import needs_person
from sync.ops.page.read import read_state
from sync.ops.page.render import page_html
from sync.ops.page.write import write_page
from sync.sandbox.agency import seed_data
from tests.support import page_data as d
from tests.support.browser import Browser, browser_or_skip, chromium
from tests.support.fixtures.sandbox import SEEDED_ON, Agency, start_agency

SCREENSHOT = os.environ.get("PAGE_SCREENSHOT", "")
HOSTILE_ACCOUNTS = {
    "001A00000000001AAA": d.IMG,  # Blue Ridge RV Center
    "001A00000000002AAA": d.SCRIPT,  # Coastal Marine & Motorsports
}


def _page(agency: Agency, path: Path) -> str:
    now = agency.clock()  # the agency's own time, just after its run
    trigger = cron_trigger(agency.config.schedule.cron, agency.config.schedule.timezone)
    write_page(
        agency.config, path, now=now, sync=("python", "-m", "sync"), redact=str, trigger=trigger
    )
    return path.read_text(encoding="utf-8")


def test_every_open_request_and_every_problem_is_on_the_page(
    agency: Agency, tmp_path: Path
) -> None:
    agency.run(SEEDED_ON)
    page = _page(agency, tmp_path / "page.html")
    st = read_state(agency.config)
    facts = open_requests(st.rows, st.findings, st.labels, st.adopted, st.undos)
    problems = needs_person(st.rows, st.findings, st.labels, message_of=st.message_of)
    assert facts.requests
    assert problems  # the seeded agency has requests that need a person
    for req in facts.requests:
        assert f'<tr data-request="{req.request_id}">' in page
        assert html_lib.escape(req.client) in page
    for p in problems:
        assert f'data-problem="{html_lib.escape(p.key)}" data-request="{p.request_id}"' in page
        for c in p.commands:
            assert html_lib.escape(c.text) in page


@pytest.fixture
def hostile_agency(tmp_path: Path, sandbox_env: None) -> Iterator[Agency]:
    data: dict[str, Any] = seed_data(None, SEEDED_ON)
    for account in data["salesforce"]["records"]["Account"]:
        account["Name"] = HOSTILE_ACCOUNTS.get(account["Id"], account["Name"])
    yield from start_agency(tmp_path / "sandbox", data)


@pytest.mark.slow  # a browser: see test_page_browser.py
def test_hostile_account_names_from_salesforce_stay_text_in_chromium(
    hostile_agency: Agency, tmp_path: Path
) -> None:
    browser_or_skip()
    hostile_agency.run(SEEDED_ON)
    path = tmp_path / "page.html"
    page = _page(hostile_agency, path)
    assert "<img" not in page
    assert page.count("<script") == 0
    b: Browser
    with chromium() as b:
        b.open(path)
        assert b.js("return window.__pwned") is None
        assert b.js("return document.querySelectorAll('script, img').length") == 0
        text = b.js("return document.body.innerText")
        assert d.IMG in text
        assert d.SCRIPT in text
        assert b.requests() == [path.resolve().as_uri()]


@pytest.mark.slow
@pytest.mark.skipif(not SCREENSHOT, reason="PAGE_SCREENSHOT=docs/ops-page.png regenerates it")
def test_screenshot(agency: Agency, tmp_path: Path) -> None:
    """The README's picture: the page of a fresh sandbox just after its first run."""
    browser_or_skip()
    agency.run(SEEDED_ON)
    path = tmp_path / "page.html"
    _page(agency, path)
    with chromium() as b:
        b.open(path, width=1000, height=900)
        b.screenshot(Path(SCREENSHOT))
    assert Path(SCREENSHOT).read_bytes().startswith(b"\x89PNG")


def test_open_requests_state_what_status_states(agency: Agency) -> None:
    agency.run(SEEDED_ON)
    agency.run(SEEDED_ON + timedelta(days=12))
    out = io.StringIO()
    assert status_command(agency.config, out=out) == 0
    st = read_state(agency.config)
    facts = open_requests(st.rows, st.findings, st.labels, st.adopted, st.undos)
    # `status` ends with the org's Salesforce allocation (a fact about the org, #26); all it
    # says before that, the page's Open requests section says too.
    requests_part, allocation, _ = out.getvalue().partition("\n  Salesforce API allocation:")
    assert allocation
    assert status_text(facts) == requests_part
    html = page_html(build_page(st, d.schedule(), now=d.NOW), redact=str)
    for req in facts.requests:
        assert f'data-request="{req.request_id}"' in html
        for step in req.owed:
            assert f"{step.name}: {step.word}".replace("'", "&#39;") in html


def test_the_page_file_is_written_whole_and_private(agency: Agency, tmp_path: Path) -> None:
    agency.run(SEEDED_ON)
    path = tmp_path / "out" / "page.html"
    size = write_page(
        agency.config,
        path,
        now=d.NOW,
        sync=("python", "-m", "sync"),
        redact=str,
        trigger=cron_trigger("*/15 * * * *", "UTC"),
    )
    assert path.stat().st_size == size
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert [p.name for p in path.parent.iterdir()] == ["page.html"]  # no temporary left
