"""The morning summary's HTML part: the same facts as its text part, with the page's macros.

The text part stays exactly as the template renders it; this builds the alternative a mail
client shows instead, from the same `Summary` (the lists before they are wrapped for text), so
the two cannot say different things.
"""

from __future__ import annotations

from sync.morning import Summary
from sync.page.render import MailSummary, Redactor, summary_html

SECTIONS = (
    ("Runs", "runs"),
    ("Done", "done"),
    ("Failed (retried on every run)", "failed"),
    ("Needs a person", "needs_person"),
    ("Due today and coming up", "due_today"),
)


def mail_summary(summary: Summary) -> MailSummary:
    state = "attention" if summary.failed or summary.needs_person else "ok"
    return MailSummary(
        date=f"{summary.day:%B} {summary.day.day}, {summary.day.year}",
        since=summary.since,
        headline=summary.headline,
        state=state,
        sections=tuple((title, tuple(getattr(summary, name))) for title, name in SECTIONS),
        footer="Details: `python -m sync status` and `python -m sync log`.",
    )


def morning_html(summary: Summary, *, redact: Redactor) -> str:
    return summary_html(mail_summary(summary), redact=redact)
