"""Health: one word and one colour for the whole, and the facts behind it.

failing: the last run could not finish, or no run came when the schedule said one would (the
sync may be down: silence must not read as "nothing to do"). attention: something waits for a
person, an alert is open, or the last run had problems. ok otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sync.ops.page.runs import RunView, parse, run_view

WORDS = {"ok": "OK", "attention": "Needs attention", "failing": "Failing"}


@dataclass(frozen=True)
class Health:
    state: str  # ok / attention / failing
    word: str
    reasons: tuple[str, ...]
    last_run: RunView | None
    heartbeat: str
    next_run: str
    open_alerts: tuple[str, ...]


def health(
    last_run: Mapping[str, Any] | None,
    *,
    problems: int,
    open_alerts: Sequence[str],
    now: datetime,
    tz: ZoneInfo,
    next_run: datetime | None,
    every: timedelta | None,
    heartbeat: str,
) -> Health:
    """`every` is the schedule's interval: no run for twice that (at least an hour) is failing."""
    reasons: list[str] = []
    view = run_view(last_run, (), tz) if last_run is not None else None
    state = "ok"
    if view is None:
        state = "attention"
        reasons.append("the sync has not run yet with this state")
    else:
        started = parse(str(last_run.get("started_at", ""))) if last_run else None
        if view.state == "failing":
            state = "failing"
            reasons.append(f"the last run could not finish (exit {view.exit_code})")
        elif view.state == "attention":
            state = "attention"
            reasons.append(f"the last run: {view.result}")
        late = max(2 * every, timedelta(hours=1)) if every else None
        if started is not None and late is not None and now - started > late:
            state = "failing"
            hours = (now - started).total_seconds() / 3600
            reasons.append(f"no run for {hours:.1f} h, though the schedule runs it more often")
    if problems:
        state = "attention" if state == "ok" else state
        reasons.append(f"{problems} problem(s) need a person")
    if open_alerts:
        state = "attention" if state == "ok" else state
        reasons.append(f"{len(open_alerts)} alert(s) sent and not yet resolved")
    if not reasons:
        reasons.append("every effect owed so far is done, and nothing waits for a person")
    return Health(
        state=state,
        word=WORDS[state],
        reasons=tuple(reasons),
        last_run=view,
        heartbeat=heartbeat,
        next_run=next_run.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if next_run else "",
        open_alerts=tuple(open_alerts),
    )
