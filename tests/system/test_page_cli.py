"""`report --html PATH`, the page after every run, and the morning summary's HTML part, through
the CLI on a fresh sandbox (issue 29's "done when")."""

from __future__ import annotations

import html as html_lib
import logging
import re
import stat
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from connectors.email.connector import EmailConnector
from connectors.emulators.smtp.server import SmtpEmulator
from sync.cli.app import main
from sync.ops.page.facts import open_requests
from sync.ops.page.problems import needs_person
from sync.ops.page.read import read_state
from sync.ops.page.write import commands_for
from sync.sandbox.agency import open_sandbox
from tests.support.fixtures.sandbox import agency_clock


def _box(tmp_path: Path) -> list[str]:
    return ["--sandbox", "--sandbox-dir", str(tmp_path / "box")]


def test_a_fresh_sandbox_s_page_has_every_open_request_and_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = agency_clock().clock()
    assert main(_box(tmp_path), clock=clock) == 0
    first = capsys.readouterr().out
    page_path = (tmp_path / "box" / "page.html").resolve()
    assert first.rstrip().endswith(f"The ops lead's page: {page_path} (open it in a browser)")
    assert stat.S_IMODE(page_path.stat().st_mode) == 0o600
    out = tmp_path / "page.html"
    assert main([*_box(tmp_path), "report", "--html", str(out)], clock=clock) == 0
    assert f"The ops lead's page: {out.resolve()}" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert main([*_box(tmp_path), "status"], clock=clock) == 0
    status = capsys.readouterr().out
    with open_sandbox(tmp_path / "box", writable=False, clock=clock) as box:
        st = read_state(box.config)
        sync = commands_for(box.config)
    facts = open_requests(st.rows, st.findings, st.labels, st.adopted, st.undos)
    problems = needs_person(st.rows, st.findings, st.labels, message_of=st.message_of, sync=sync)
    assert len(facts.requests) == int(status.split(" open request")[0])
    assert problems
    for req in facts.requests:
        assert f"\n{req.label}  " in status
        assert f'<tr data-request="{req.request_id}"><td>{html_lib.escape(req.name)}</td>' in page
        assert f"<td>{html_lib.escape(req.client)}</td>" in page
    for p in problems:
        card = page.split(f'data-problem="{html_lib.escape(p.key)}"')[1].split("</article>")[0]
        assert p.request_id in card
        assert html_lib.escape(p.client) in card
        for c in p.commands:
            assert c.text.startswith("python -m sync --sandbox --sandbox-dir ")
            assert html_lib.escape(c.text) in card


def test_report_writes_nothing_anywhere_but_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = agency_clock().clock()
    assert main(_box(tmp_path), clock=clock) == 0
    state = tmp_path / "box" / "state"
    before = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}
    assert main([*_box(tmp_path), "report", "--html", str(tmp_path / "p.html")], clock=clock) == 0
    assert {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()} == before
    (tmp_path / "file").write_text("")
    assert main([*_box(tmp_path), "report", "--html", str(tmp_path / "file" / "p.html")],
                clock=clock) == 2  # fmt: skip
    assert "cannot write the page to" in capsys.readouterr().err


def test_a_page_that_cannot_be_written_does_not_fail_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: object, **_k: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sync.ops.page.write.write_page", broken)
    with caplog.at_level(logging.ERROR, logger="sync.ops.page"):
        assert main(_box(tmp_path), clock=agency_clock().clock()) == 0
    assert "could not write the ops lead's page" in caplog.text
    assert "No space left on device" in caplog.text


def test_the_morning_summary_is_multipart_and_its_text_part_keeps_today_s_bytes(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator
) -> None:
    values = {
        "date": "November 25, 2026", "since": "2026-11-24 07:30 CST",
        "headline": "3 done, 1 failed, 1 need a person",
        "runs": "  4 run(s)", "done": "  TR-00001 (Café Ñandú Motorsports): added to the Planner "
        "Sheet, DS tracker status set, added to the DigMS Offboarding Sheet, and a line longer "
        "than seventy-eight characters", "failed": "  (none)",
        "needs_person": "  TR-00007 (Big Sky RV Sales): the approval chain is not complete",
        "due_today": "  (none)",
    }  # fmt: skip
    to = ("digital-ops-lead@agency.example",)
    email_connector.send_message("morning_summary", to, values, "morning_summary:2026-11-25")
    email_connector.send_message(
        "morning_summary", to, values, "morning_summary:2026-11-25", html="<p>Good morning</p>"
    )
    plain, both = (m.message for m in smtp_emulator.messages)
    assert plain.get_content_type() == "text/plain"
    assert both.get_content_type() == "multipart/alternative"
    text, html = both.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    for header in ("Content-Type", "Content-Transfer-Encoding"):
        assert text[header] == plain[header]
    assert text.get_payload() == plain.get_payload()  # the encoded body, byte for byte
    assert html.get_content().rstrip() == "<p>Good morning</p>"
    for header in ("Subject", "From", "To", "Message-ID", "X-Offboarding-Sync-Message"):
        assert both[header] == plain[header]


def test_the_sandbox_s_morning_summary_has_an_html_part_with_the_same_lines(
    tmp_path: Path,
) -> None:
    assert main(_box(tmp_path), clock=agency_clock().clock()) == 0
    mails = [message_from_bytes(p.read_bytes(), policy=default)
             for p in sorted((tmp_path / "box" / "outbox").glob("*.eml"))]  # fmt: skip
    [summary] = [m for m in mails if m["X-Offboarding-Sync-Message"] == "morning_summary"]
    assert isinstance(summary, EmailMessage)
    assert summary.get_content_type() == "multipart/alternative"
    text = summary.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = summary.get_body(("html",)).get_content()  # type: ignore[union-attr]
    items = [html_lib.unescape(x) for x in re.findall(r"<li[^>]*>(.*?)</li>", html)]
    assert items
    flat = " ".join(text.split())
    for item in items:
        assert " ".join(item.split()) in flat
    assert "<style" not in html
    assert "<script" not in html.lower()
    assert "class=" not in html
