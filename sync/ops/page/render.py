"""Page and mail HTML from their data: Jinja2, autoescaped, every value redacted first.

Why Jinja2 and not string building: every value on the page was typed by a person into
Salesforce, Sheets or Trello, and one forgotten escape is a script in the ops lead's browser.
Autoescape is on for every template (whatever its name), undefined names fail loudly, and
`finalize` sends each interpolated value through the redactor before it is escaped, so no value
reaches the page unredacted or unescaped. Only `Markup` built by our own helpers passes as is.

The redactor is an argument, never a default: a caller cannot forget it. Every caller passes
the run's one redactor (`sync.config.redaction.redact`, issue 25).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from sync.ops.page.model import Page
from sync.ops.page.runs import local
from sync.ops.page.styles import REQUEST_COLUMNS, RUN_COLUMNS, page_css, styler

Redactor = Callable[[str], str]
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_redact: ContextVar[Redactor] = ContextVar("redact")


def _finalize(value: object) -> object:
    if isinstance(value, Markup):
        return value  # our own helpers' output, built from finalized values
    return _redact.get()("" if value is None else str(value))


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader(__package__ or "sync.ops.page", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["local"] = lambda iso, tz: local(str(iso), ZoneInfo(str(tz)))
_ENV.globals["columns"] = {"requests": REQUEST_COLUMNS, "runs": RUN_COLUMNS}


@dataclass(frozen=True)
class MailSummary:
    """The morning summary's data, as its text part has it (`sync.ops.morning.Summary`)."""

    date: str
    since: str
    headline: str
    state: str  # ok / attention / failing
    sections: Sequence[tuple[str, Sequence[str]]]  # (heading, lines), in the text part's order
    footer: str


def _render(name: str, redact: Redactor, **values: Any) -> str:
    token = _redact.set(redact)
    try:
        return _ENV.get_template(name).render(csp=CSP, **values)
    finally:
        _redact.reset(token)


def page_html(page: Page, *, redact: Redactor) -> str:
    css = Markup(page_css())  # noqa: S704 - our own stylesheet: no value from the data in it
    return _render("page.html.j2", redact, page=page, css=css, sty=styler(False))


def summary_html(summary: MailSummary, *, redact: Redactor) -> str:
    return _render("summary.html.j2", redact, summary=summary, sty=styler(True))
