"""The sync's email templates: loading, checking and rendering, with no SMTP in sight.

Split from `connectors.email.connector` so that a template file (see config/templates/*.txt) can be
checked and rendered without a mail server: every placeholder is checked when the file is
loaded, and values are made single-line before they reach a Subject, so no request field can
add a header. The connector only builds and sends the message.

The templates ship with the package (`sync.config.defaults`). `email.templates_dir` names a folder
of the ops lead's own versions: each file found there replaces the shipped one of that name, and a
template it lacks (say one added by an upgrade) comes from the package, so a config copied
anywhere always finds a complete set.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib.resources.abc import Traversable
from pathlib import Path

from sync.config import defaults
from sync.errors import ConfigError

ITEM_MARKER = "--- each request ---"
_REQUEST_VALUES = frozenset(
    {
        "client", "effective_date", "effective_date_iso", "reason", "request_type",
        "request_name", "account_id", "link", "platform",
    }
)  # fmt: skip
PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "simplifi_notice": _REQUEST_VALUES,
    "manager_digest": frozenset({"count", "run_date", "requests"}),
    "manager_digest.item": _REQUEST_VALUES
    | {"product_change_notes", "new_package", "credit_amount"},
    "reminder": _REQUEST_VALUES
    | {"days_left", "days_left_text", "late_note", "due_on", "offset_days", "team"},
    "alert": frozenset({"subject", "body", "problem_key"}),
    "morning_summary": frozenset(
        {"date", "since", "runs", "done", "failed", "needs_person", "due_today", "headline"}
    ),
    "simplifi_retraction": _REQUEST_VALUES | {"notice_date", "status", "why"},
    "manager_undo": _REQUEST_VALUES | {"notice_date", "status", "why", "undone"},
}
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


@dataclass(frozen=True)
class Template:
    """One template file: a Subject line, a body, and (digest only) a per-request block."""

    name: str
    subject: string.Template
    body: string.Template
    item: string.Template | None = None

    @classmethod
    def load(cls, folder: Path | None, name: str) -> Template:
        """`name` from `folder` if the file is there, else the packaged one (folder None: always
        the packaged one)."""
        path: Path | Traversable = defaults.template(name)
        if folder is not None and (folder / f"{name}.txt").is_file():
            path = folder / f"{name}.txt"
        try:
            text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        except OSError as exc:
            raise ConfigError(
                f"cannot read email template: {exc.strerror}", path=str(path)
            ) from None
        lines = text.split("\n")
        while lines and lines[0].startswith("#"):
            lines.pop(0)
        if not lines or not lines[0].startswith("Subject:"):
            raise ConfigError(
                "the first line after the '#' notes must be 'Subject: ...'", path=str(path)
            )
        if len(lines) < 2 or lines[1].strip():
            raise ConfigError("the Subject line must be followed by a blank line", path=str(path))
        subject = lines[0].removeprefix("Subject:").strip()
        body = "\n".join(lines[2:])
        item = None
        if name == "manager_digest":
            body, sep, item_text = body.partition(f"\n{ITEM_MARKER}\n")
            if not sep:
                raise ConfigError(f"missing the line '{ITEM_MARKER}'", path=str(path))
            item = string.Template(item_text.rstrip() + "\n")
            _check(path, item, PLACEHOLDERS["manager_digest.item"])
        tpl = cls(name, string.Template(subject), string.Template(body.rstrip() + "\n"), item)
        _check(path, tpl.subject, PLACEHOLDERS[name])
        _check(path, tpl.body, PLACEHOLDERS[name])
        return tpl

    @classmethod
    def load_all(cls, folder: Path | None, names: tuple[str, ...]) -> dict[str, Template]:
        """Every template a sender needs; a named folder that does not exist is a config error
        (a typo there would otherwise fall back to the shipped texts without a word)."""
        if folder is not None and not folder.is_dir():
            raise ConfigError(f"templates folder not found: {folder}", key="email.templates_dir")
        return {name: cls.load(folder, name) for name in names}

    def render(self, values: Mapping[str, str]) -> tuple[str, str]:
        subject = one_line(self.subject.substitute(values))
        return subject, self.body.substitute(values)


def _check(path: Path | Traversable, tpl: string.Template, allowed: frozenset[str]) -> None:
    if not tpl.is_valid():
        raise ConfigError("a '$' that is not ${name} (write $$ for a dollar sign)", path=str(path))
    unknown = sorted(set(tpl.get_identifiers()) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown placeholder(s) {', '.join('${' + u + '}' for u in unknown)}; "
            f"known: {', '.join(sorted(allowed))}",
            path=str(path),
        )


def one_line(value: str) -> str:
    """No CR, LF or other control character survives: a value can never start a header."""
    return " ".join(_CONTROL.sub(" ", value).split())


def human_date(d: date) -> str:
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


def message_id(seed: str, from_address: str) -> str:
    """The same effect (or digest, or problem) always gets the same Message-ID."""
    domain = re.sub(r"[^A-Za-z0-9.-]", "", from_address.rpartition("@")[2]) or "offboarding.sync"
    return f"<{hashlib.sha256(seed.encode('utf-8')).hexdigest()[:32]}.offboarding-sync@{domain}>"


def block(text: str) -> str:
    """A multi-line value inside an indented list item."""
    lines = [_CONTROL.sub(" ", line).rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line.strip()]
    return "\n    ".join(lines) if lines else "(none)"
