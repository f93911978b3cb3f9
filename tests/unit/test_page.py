"""The ops lead's page as pure functions: what it says, that it escapes and redacts every value,
and that it stays small; the browser tests (test_page_browser.py) check how Chromium shows it."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from datetime import date, timedelta
from html import unescape

import pytest

from sync.config.redaction import redact
from sync.config.secrets import remember_secret
from sync.ops.morning import Summary, mail_summary
from sync.ops.page.facts import open_requests
from sync.ops.page.health import health
from sync.ops.page.model import build_page
from sync.ops.page.problems import needs_person
from sync.ops.page.render import CSP, MailSummary, page_html, summary_html
from sync.ops.page.runs import recent_runs
from sync.ops.page.timeline import timeline
from tests.support import page_data as d


def hide_secret(text: str) -> str:
    return text.replace(d.SECRET, "***")


def seeded_html(**kw: object) -> str:
    return page_html(build_page(d.seeded(), d.schedule(), now=d.NOW, **kw), redact=hide_secret)  # type: ignore[arg-type]


# ----- Needs a person ----------------------------------------------------------------------
def test_each_seeded_problem_is_listed_once_with_the_command_that_settles_it() -> None:
    st = d.seeded()
    problems = needs_person(st.rows, st.findings, st.labels, message_of=st.message_of)
    by_name = {}
    for p in problems:
        by_name.setdefault(p.name, []).append(p)
    assert len({p.key for p in problems}) == len(problems) == 6
    assert [c.text for c in by_name["TR-00004"][0].commands] == ["python -m sync --only TR-00004"]
    assert [c.text for c in by_name["TR-00005"][0].commands] == ["python -m sync undo TR-00005"]
    assert [c.text for c in by_name["TR-00006"][0].commands] == ["python -m sync --only TR-00006"]
    # One digest carried two requests' effects: one problem, one `resolve` for both.
    digest = by_name["TR-00001"]
    assert len(digest) == 1
    assert digest[0].kind == "unconfirmed"
    key = "a0T00000000000AAAA:manager_digest:tda_manager"
    assert [c.text for c in digest[0].commands] == [
        f"python -m sync resolve {key} --sent",
        f"python -m sync resolve {key} --resend",
    ]
    assert digest[0].also == (f"TR-00002 ({d.IMG})",)
    kinds = sorted((p.name, p.kind) for p in problems if p.name in ("TR-00002", "TR-00003"))
    assert kinds == [("TR-00002", "needs_person"), ("TR-00003", "failed")]
    assert by_name["TR-00003"][0].client == d.SCRIPT


def test_a_command_stays_one_command_whatever_the_request_is_named() -> None:
    st = d.seeded()
    rid = "a0T00000000000DAAA"
    name = "TR-1; rm -rf ~ $(touch pwned) `id`"
    labels = {**st.labels, rid: {**st.labels[rid], "label": f"{name} (Big Sky RV Sales)"}}
    finding = replace(st.findings[0], label="")
    [p] = needs_person(
        [], [finding], labels, message_of={}, sync=("python", "-m", "sync", "--sandbox")
    )
    assert p.name == name
    assert shlex.split(p.commands[0].text) == ["python", "-m", "sync", "--sandbox", "--only", name]


# ----- escaping, redaction, no remote anything ----------------------------------------------
def test_hostile_names_are_escaped_everywhere_and_the_page_has_no_script() -> None:
    html = seeded_html()
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "onerror=" not in html.replace("onerror=&#34;", "")  # only ever as escaped text
    assert "&lt;img src=x onerror=&#34;document.title=&#39;pwned&#39;" in html
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned=2&lt;/script&gt;" in html


def test_the_policy_forbids_everything_but_inline_style_and_the_page_fetches_nothing() -> None:
    html = seeded_html()
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    assert meta is not None
    assert meta.group(1).replace("&#39;", "'") == CSP
    assert CSP == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    assert html.index("Content-Security-Policy") < html.index("<style>")
    for pattern in (
        r"<[^>]*\ssrc=",
        r"<link\b",
        r"@import",
        r"url\(",
        r"https?://(?!www\.w3\.org/2000/svg)",
    ):
        assert not re.search(pattern, html), pattern
    assert re.search(r'<html lang="en">', html)
    assert re.search(r"<title>[^<]+</title>", html)


def test_the_redactor_sees_every_value_before_it_reaches_the_page() -> None:
    html = seeded_html()
    assert d.SECRET not in html
    assert "***" in html
    # A redactor that hides one client's name hides it in every section that names it.
    page = build_page(d.seeded(), d.schedule(), now=d.NOW)
    hidden = page_html(page, redact=lambda s: s.replace("Blue Ridge", "[hidden]"))
    assert "Blue Ridge" in page_html(page, redact=str)
    assert "Blue Ridge" not in hidden
    assert hidden.count("[hidden]") >= 4


def test_a_page_cannot_be_rendered_without_a_redactor() -> None:
    page = build_page(d.seeded(), d.schedule(), now=d.NOW)
    with pytest.raises(TypeError):
        page_html(page)  # type: ignore[call-arg]


# ----- the facts -----------------------------------------------------------------------------


def test_the_timeline_covers_this_week_and_next_and_marks_what_is_overdue() -> None:
    st = d.seeded()
    facts = open_requests(st.rows, st.findings, st.labels, st.adopted, st.undos)
    t = timeline(facts, date(2026, 12, 8))
    assert (t.first, t.last) == (date(2026, 12, 7), date(2026, 12, 20))
    assert [c.heading for c in t.columns][:3] == ["Overdue", "Mon 7", "Tue 8"]
    assert [c.today for c in t.columns].index(True) == 2
    _heading, overdue, entries = t.days[0]
    # The needs-person archive, the failing tracker, the digest of two requests; not the step
    # on hold (withdrawn: owed only if it is approved again).
    assert overdue
    assert t.overdue == 4
    assert {e.label.split(" ")[0] for e in entries} == {"TR-00001", "TR-00002", "TR-00003"}
    assert all("on hold" not in e.what for _, _, es in t.days for e in es)
    by_day = {h: es for h, _, es in t.days}
    assert [e.what for e in by_day["Friday 2026-12-11"]] == [
        "cancellation takes effect; removed from the DS tracker (copy kept) (owed)"
    ]


def test_runs_are_counted_on_the_agency_s_calendar_day() -> None:
    tz = d.TZ
    late = {"run_id": "r1", "started_at": "2026-12-08T03:00:00+00:00",
            "finished_at": "2026-12-08T03:00:02+00:00", "exit_code": 0,
            "counts": {"applied": 5, "failed": 1}}  # fmt: skip
    view = recent_runs([late], {}, today=date(2026, 12, 8), tz=tz)
    bars = {b.day: (b.applied, b.failed) for b in view.bars}
    assert len(view.bars) == 30
    assert bars[date(2026, 12, 7)] == (5, 1)
    assert bars[date(2026, 12, 8)] == (0, 0)
    [row] = view.table
    assert row.started == "2026-12-07 22:00 EST"  # type: ignore[union-attr]


def test_runs_that_did_nothing_are_folded_into_one_line_a_day() -> None:
    runs = d.big(n=1, days=3).runs
    view = recent_runs(runs, {}, today=date(2026, 12, 8), tz=d.TZ)
    quiet = [r for r in view.table if hasattr(r, "count")]
    busy = [r for r in view.table if not hasattr(r, "count")]
    assert sum(r.count for r in quiet) + len(busy) == len(runs)  # type: ignore[union-attr]
    assert len(quiet) <= 4
    assert len(busy) < len(runs) / 5


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ({}, "ok"),
        ({"error": "Salesforce refused the login", "exit_code": 3}, "failing"),
        ({"exit_code": 1}, "attention"),
        ({"started_at": "2026-12-08T12:00:00+00:00"}, "failing"),  # 3.5 h without a run
    ],
)
def test_health_says_one_word_for_the_whole(change: dict[str, object], state: str) -> None:
    run = {**d.seeded().runs[-1], "exit_code": 0, "started_at": "2026-12-08T15:20:00+00:00",
           **change}  # fmt: skip
    h = health(run, problems=0, open_alerts=[], now=d.NOW, tz=d.TZ, next_run=None,
               every=timedelta(minutes=15), heartbeat="")  # fmt: skip
    assert h.state == state
    with_problem = health(run, problems=2, open_alerts=[], now=d.NOW, tz=d.TZ, next_run=None,
                          every=timedelta(minutes=15), heartbeat="")  # fmt: skip
    assert with_problem.state == ("attention" if state == "ok" else state)


def test_times_are_in_the_agency_s_time_zone() -> None:
    html = seeded_html()
    assert "As of 2026-12-08 10:30 EST. Times are in America/New_York." in html
    assert "2026-12-08 10:45 EST" in html  # the next scheduled run
    assert "TR-00005 (Lakeside Pontoon Co.): undone 2026-12-05 07:05 EST" in html


def test_the_page_of_1000_requests_and_90_days_of_runs_stays_under_2_mb() -> None:
    page = build_page(d.big(1000, 90), d.schedule(), now=d.NOW)
    html = page_html(page, redact=str)
    assert len(page.facts.requests) == 1000
    assert len(html.encode()) < 2_000_000


# ----- the morning summary's HTML part -------------------------------------------------------
def test_the_mail_part_has_inline_styles_only_and_no_remote_anything() -> None:
    summary = MailSummary(
        date="December 8, 2026",
        since="2026-12-07 07:30 EST",
        headline="3 done, 1 failed, 1 need a person",
        state="attention",
        sections=(("Runs", ("4 run(s)",)), ("Needs a person", (f"TR-1 ({d.IMG}): {d.SECRET}",)),
                  ("Done", ())),
        footer="Details: `python -m sync status` and `python -m sync log`.",
    )  # fmt: skip
    html = summary_html(summary, redact=hide_secret)
    assert "<style" not in html
    assert "class=" not in html
    assert "<svg" not in html
    assert not re.search(r"<[^>]*\ssrc=|https?://", html)
    assert "style=" in html
    assert "&lt;img src=x" in html
    assert d.SECRET not in html
    assert list(re.findall(r"<h2[^>]*>([^<]*)</h2>", html)) == [
        "Runs",
        "Needs a person",
        "Done",
    ]
    assert "(none)" in html


def test_the_html_summary_says_what_the_text_summary_says() -> None:
    summary = Summary(
        day=date(2026, 12, 8),
        since="2026-12-07 07:30 EST",
        runs=["4 run(s) from 2026-12-07 07:30 to 2026-12-08 07:15: 4 ended well"],
        done=[f"TR-1 ({d.IMG}): added to the Planner Sheet"],
        failed=[],
        needs_person=["TR-2 (Big Sky): the approval chain is not complete"],
        due_today=[],
        headline="1 done, 0 failed, 1 need a person",
    )
    html = summary_html(mail_summary(summary), redact=str)
    items = [unescape(x) for x in re.findall(r"<li[^>]*>(.*?)</li>", html)]
    assert items == [*summary.runs, *summary.done, *summary.needs_person]
    assert html.count("(none)") == 2
    assert "December 8, 2026" in html
    assert mail_summary(summary).state == "attention"


def test_the_page_is_rendered_with_the_runs_one_redactor() -> None:
    secret = "tok-9f8e7d6c5b4a-only-in-this-test"
    remember_secret(secret)
    st = d.seeded()
    rows = [
        replace(st.rows[5], last_error=f"GET https://api.trello.com/1/x?token=abc&key=k: {secret}")
    ]
    page = build_page(replace(st, rows=rows), d.schedule(), now=d.NOW)
    html = page_html(page, redact=redact)
    assert secret not in html
    assert "token=abc" not in html
    assert "GET https://api.trello.com/1/x?token=***&amp;key=***" in html
