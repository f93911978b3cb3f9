"""The morning summary: one email a day that tells the ops lead what the sync did.

"Checking the run log" should not need a shell: after the first run at or past
`morning_summary.send_after` (in `schedule.timezone`), the ops lead gets the runs since the
previous summary, what was done, what failed, what needs a person and what is due today.

It is sent exactly once per day, however many runs or `serve` restarts happen, the way every
other email is: `send_once_per_day` records "sending" in the ledger before the message goes to
SMTP and "sent" after; a crash in between leaves "sending", which is never resent by itself
(unless `email.unconfirmed_policy = "resend"`) and is logged. Every run holds the run lock, so
two processes never decide at once. `send_once_per_day` knows nothing about this summary, so
another daily message (a shadow-mode report, say) can reuse it with its own key.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sync.clock import Clock
from sync.config.model import Config
from sync.config.redaction import redact
from sync.core.domain import EffectState
from sync.core.wording import describe_kind
from sync.ops.page.render import MailSummary, summary_html
from sync.ops.render import wrap
from sync.state.ledger import Ledger
from sync.state.runlog import RunLog

log = logging.getLogger("sync.morning")

KEY = "morning_summary"
COMING_UP_DAYS = 7
_SENT, _SENDING = "sent", "sending"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def send_once_per_day(
    ledger: Ledger,
    key: str,
    day: date,
    send: Callable[[], None],
    *,
    resend: bool = False,
    now: datetime | None = None,
) -> bool:
    """Call `send` unless the message `key` for `day` was already sent (or may have been).

    True when it was sent now. `send` raising leaves nothing recorded, so the next run tries
    again; a crash inside `send` leaves "sending", which stops a second copy unless `resend`.
    """
    name = f"{key}:{day.isoformat()}"
    state = ledger.get_meta(name)
    if state == _SENT:
        return False
    if state == _SENDING and not resend:
        log.warning(
            "the %s of %s may not have gone out (a run stopped while sending it); it is not "
            "sent again: check the mailbox, then %s",
            key.replace("_", " "),
            day,
            resolve_hint(name),
        )
        return False
    ledger.set_meta(name, _SENDING)
    try:
        send()
    except Exception as exc:
        if not getattr(exc, "may_have_been_sent", False):
            ledger.delete_meta(name)  # definitely not sent: the next run tries again
        raise
    ledger.set_meta(name, _SENT)
    sent_at = now or ledger.clock.now()
    ledger.set_meta(f"{key}:last_sent_at", sent_at.isoformat(timespec="seconds"))
    return True


def unconfirmed(ledger: Ledger, before: date | None = None) -> list[str]:
    """The daily messages (`KEY:DAY`) a run stopped while sending, oldest first (only the
    days before `before`, if given): each may or may not have gone out."""
    out = []
    for name, value in sorted(ledger.meta_items().items()):
        key, _, day = name.rpartition(":")
        if value != _SENDING or not key or not _DAY.fullmatch(day):
            continue
        if before is None or date.fromisoformat(day) < before:
            out.append(name)
    return out


def resolve(ledger: Ledger, name: str, *, sent: bool) -> bool:
    """A person checked an unconfirmed daily message: it went out, or it is to be sent again
    (by the first run at or after `send_after`, if it is still that day). False: not one."""
    if name not in unconfirmed(ledger):
        return False
    if sent:
        ledger.set_meta(name, _SENT)
    else:
        ledger.delete_meta(name)
    return True


def resolve_hint(name: str) -> str:
    return f"`python -m sync resolve {name} --sent` (or `--resend`)"


def due_now(cfg: Config, now: datetime) -> bool:
    """Enabled, and the local time has reached `send_after`."""
    ms = cfg.morning_summary
    if not ms.enabled:
        return False
    hour, minute = (int(x) for x in ms.send_after.split(":"))
    local = now.astimezone(ZoneInfo(cfg.schedule.timezone))
    return local.time() >= time(hour, minute)


def maybe_send(cfg: Config, email: object | None, *, now: datetime) -> bool:
    """After a run: send today's summary if it is due and not sent yet. Never raises.

    "Today" is the calendar day at `now` in `schedule.timezone`, not a run's `--as-of`: the
    summary is about real runs, and a preview must not use up a future day's summary."""
    if not due_now(cfg, now):
        return False
    today = now.astimezone(ZoneInfo(cfg.schedule.timezone)).date()
    send_message = getattr(email, "send_message", None)
    if not callable(send_message):
        log.error("cannot send the morning summary: no email connector")
        return False
    # The ledger stamps this send at the caller's `now`, so a test's clock is the one seen.
    ledger = Ledger(cfg.state_path / "ledger.sqlite3", clock=Clock(instant=lambda: now))
    try:
        last = ledger.get_meta(f"{KEY}:last_sent_at")
        since = datetime.fromisoformat(last) if last else now - timedelta(days=1)
        summary = build(cfg, ledger, today=today, since=since, now=now)
        to = cfg.morning_summary.to or cfg.email.ops_lead_to

        html = _html(summary)

        def send() -> None:
            send_message(
                "morning_summary", to, summary.values(), f"{KEY}:{today.isoformat()}", html=html
            )

        resend = cfg.email.unconfirmed_policy == "resend"
        return send_once_per_day(ledger, KEY, today, send, resend=resend, now=now)
    except Exception as exc:  # the summary must never fail the run it follows
        log.error("could not send the morning summary: %s", exc)
        return False
    finally:
        ledger.close()


# The HTML part's sections: the text template's, in its order, with its headings.
SECTIONS = (
    ("Runs", "runs"),
    ("Done", "done"),
    ("Failed (retried on every run)", "failed"),
    ("Needs a person", "needs_person"),
    ("Due today and coming up", "due_today"),
)


def mail_summary(summary: Summary) -> MailSummary:
    """The HTML part's data: the same lists the text part is made of, before they are wrapped
    for text, so the two parts cannot say different things."""
    return MailSummary(
        date=f"{summary.day:%B} {summary.day.day}, {summary.day.year}",
        since=summary.since,
        headline=summary.headline,
        state="attention" if summary.failed or summary.needs_person else "ok",
        sections=tuple((title, tuple(getattr(summary, name))) for title, name in SECTIONS),
        footer="Details: `python -m sync status` and `python -m sync log`.",
    )


def _html(summary: Summary) -> str:
    """The summary's HTML part (the page's macros and styles, inlined), or "" (text only) if
    it cannot be built: the text the ops lead relies on must not wait for a rendering bug."""
    try:
        return summary_html(mail_summary(summary), redact=redact)
    except Exception as exc:
        log.error("the morning summary goes out as text only: its HTML part failed: %s", exc)
        return ""


@dataclass(frozen=True)
class Summary:
    day: date
    since: str
    runs: list[str]
    done: list[str]
    failed: list[str]
    needs_person: list[str]
    due_today: list[str]
    headline: str

    def values(self) -> dict[str, str]:
        def lines(items: list[str]) -> str:
            return "\n".join(wrap(x) for x in items) if items else "  (none)"

        return {
            "date": f"{self.day:%B} {self.day.day}, {self.day.year}",
            "since": self.since,
            "headline": self.headline,
            "runs": lines(self.runs),
            "done": lines(self.done),
            "failed": lines(self.failed),
            "needs_person": lines(self.needs_person),
            "due_today": lines(self.due_today),
        }


def build(cfg: Config, ledger: Ledger, *, today: date, since: datetime, now: datetime) -> Summary:
    """Read the run log (the runs since `since`) and the ledger (what is open now)."""
    tz = ZoneInfo(cfg.schedule.timezone)
    records = [r for r in RunLog.in_state_dir(cfg.state_path).read() if _after(r, since)]
    runs = [r for r in records if r.get("type") == "run"]
    effects = [r for r in records if r.get("type") == "effect"]
    labels = ledger.request_labels()

    def label(request_id: str, fallback: str = "") -> str:
        return str(labels.get(request_id, {}).get("label") or fallback or request_id)

    done: dict[str, list[str]] = defaultdict(list)
    for e in effects:
        if e.get("outcome") in ("applied", "already_done"):
            done[label(e["request_id"], e.get("request", ""))].append(
                describe_kind(e["kind"], e["target"])
            )
    rows = {r.key: r for r in ledger.rows()}
    failed: dict[str, str] = {}
    for e in effects:
        row = rows.get(e.get("key", ""))
        if e.get("outcome") == "failed" and row is not None and row.state is EffectState.FAILED:
            what = describe_kind(e["kind"], e["target"])
            failed[e["key"]] = f"{label(e['request_id'])}: {what}: {row.last_error}"
    person = [f"{f.label or label(f.request_id)}: {f.message}" for f in ledger.findings()]
    for row in rows.values():
        what = describe_kind(row.kind, row.target)
        if row.state is EffectState.NEEDS_PERSON:
            person.append(f"{label(row.request_id)}: {what}: {row.last_error}")
        elif row.state is EffectState.SENDING:
            person.append(
                f"{label(row.request_id)}: {what}: may not have gone out; check the mailbox, "
                f"then `python -m sync resolve {row.key} --sent` (or `--resend`)"
            )
    for name in unconfirmed(ledger, before=today):
        key, _, day = name.rpartition(":")
        person.append(
            f"the {key.replace('_', ' ')} of {day} may be missing: a run stopped while sending "
            f"it. Check the mailbox, then {resolve_hint(name)}"
        )
    run_lines = _runs(runs, tz)
    n_done = sum(len(v) for v in done.values())
    headline = f"{n_done} done, {len(failed)} failed, {len(person)} need a person"
    return Summary(
        day=today,
        since=since.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
        runs=run_lines,
        done=[f"{who}: {', '.join(items)}" for who, items in done.items()],
        failed=list(failed.values()),
        needs_person=sorted(set(person)),
        due_today=_due(rows.values(), labels, today),
        headline=headline,
    )


def _after(record: dict[str, Any], since: datetime) -> bool:
    stamp = record.get("started_at") or record.get("at") or ""
    try:
        return datetime.fromisoformat(stamp) > since
    except ValueError:
        return False


def _runs(runs: list[dict[str, Any]], tz: ZoneInfo) -> list[str]:
    if not runs:
        return ["no runs: if the sync should have run, check cron, the timer or `serve`"]
    bad = Counter(
        "stopped" if r.get("error") or r.get("stopped_early") else "failed"
        for r in runs
        if r.get("exit_code", 0) != 0 or r.get("stopped_early")
    )
    first = datetime.fromisoformat(runs[0]["started_at"]).astimezone(tz)
    last_run = runs[-1]
    last = datetime.fromisoformat(last_run["started_at"]).astimezone(tz)
    out = [
        f"{len(runs)} run(s) from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}: "
        f"{len(runs) - sum(bad.values())} ended well, {bad['failed']} had failures, "
        f"{bad['stopped']} stopped early"
    ]
    for r in runs:
        if r.get("error"):
            at = datetime.fromisoformat(r["started_at"]).astimezone(tz)
            out.append(f"{at:%Y-%m-%d %H:%M} run {r['run_id']} stopped: {r['error']}")
    return out


def _due(rows: Iterable[Any], labels: dict[str, dict[str, str]], today: date) -> list[str]:
    out: list[str] = []
    for row in rows:
        if row.not_before != today.isoformat():
            continue
        state = "done" if row.state in (EffectState.APPLIED, EffectState.SKIPPED) else "owed"
        who = labels.get(row.request_id, {}).get("label", row.request_id)
        out.append(f"{who}: {describe_kind(row.kind, row.target)} ({state})")
    horizon = today + timedelta(days=COMING_UP_DAYS)
    for rid, info in sorted(labels.items(), key=lambda kv: kv[1].get("effective_date", "")):
        try:
            eff = date.fromisoformat(info.get("effective_date", ""))
        except ValueError:
            continue
        if today <= eff <= horizon:
            when = "today" if eff == today else f"on {eff:%a %Y-%m-%d}"
            out.append(f"{info.get('label', rid)}: {info.get('type', '')} takes effect {when}")
    return out
