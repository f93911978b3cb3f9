"""This week and next: effective dates and owed steps per day, overdue ones apart.

The window is Monday of this week to Sunday of next (the agency's calendar), so on a Friday the
ops lead still sees the whole of next week. An owed step whose day has passed is overdue: it is
drawn in a column of its own at the left, in words as well as colour. The geometry is computed
here, so the template only places what it is given.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sync.core.domain import EffectState
from sync.core.wording import describe_kind
from sync.ops.page.facts import StatusFacts

DAYS = 14
# viewBox units: margin, column width, the week labels' height, one week's row height. Two rows
# of seven days (not one of fourteen) keep the drawing legible on a phone.
_LEFT, _COL, _TOP, _ROW = 4, 46, 18, 78
_WORD = {
    EffectState.PLANNED: "owed",
    EffectState.FAILED: "failed, retried each run",
    EffectState.NEEDS_PERSON: "needs a person",
    EffectState.SENDING: "unconfirmed send",
    EffectState.ON_HOLD: "on hold",
}


@dataclass(frozen=True)
class Entry:
    label: str
    what: str
    effective: bool  # True: the request takes effect that day; False: a step is owed


@dataclass(frozen=True)
class Column:
    heading: str  # "Overdue" or "Mon 7"
    day: date | None  # None for the overdue column
    x: float
    y: float
    today: bool
    weekend: bool
    effective: int
    steps: int


@dataclass(frozen=True)
class Timeline:
    first: date
    last: date
    width: int
    height: int
    column_width: int
    row_height: int
    overdue: int
    columns: tuple[Column, ...]
    days: tuple[tuple[str, bool, tuple[Entry, ...]], ...]  # (heading, overdue, entries)


def timeline(facts: StatusFacts, today: date) -> Timeline:
    """One line per request and day (what takes effect, what is owed), not one per step: a busy
    fortnight of 1,000 requests stays a list a person can scan."""
    first = today - timedelta(days=today.weekday())
    last = first + timedelta(days=DAYS - 1)
    per_day: dict[date, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    effective: dict[date, int] = defaultdict(int)
    steps: dict[date, int] = defaultdict(int)
    overdue: dict[str, list[str]] = defaultdict(list)
    late = 0
    for req in facts.requests:
        eff = _day(req.effective_date)
        if eff is not None and first <= eff <= last:
            per_day[eff][req.label].append(f"{req.type or 'request'} takes effect")
            effective[eff] += 1
        for s in req.owed:
            day = _day(s.not_before)
            if day is None or day > last or s.state is EffectState.ON_HOLD:
                continue  # on hold: owed only if the request is approved again
            word = _WORD.get(s.state, str(s.state))
            what = f"{describe_kind(s.kind, s.target)} ({word})"
            if day < today:
                overdue[req.label].append(f"{what}, owed since {day:%a %b} {day.day}")
                late += 1
            else:
                per_day[day][req.label].append(what)
                steps[day] += 1
    columns = [Column("Overdue", None, _LEFT, _TOP, False, False, 0, late)]
    for n in range(DAYS):
        day = first + timedelta(days=n)
        columns.append(
            Column(
                f"{day:%a} {day.day}",
                day,
                _LEFT + (1 + n % 7) * _COL,
                _TOP + (n // 7) * _ROW,
                day == today,
                day.weekday() >= 5,
                effective.get(day, 0),
                steps.get(day, 0),
            )
        )
    days: list[tuple[str, bool, tuple[Entry, ...]]] = []
    if overdue:
        days.append(("Overdue", True, _entries(overdue)))
    for day in sorted(per_day):
        when = "Today" if day == today else f"{day:%A} {day:%Y-%m-%d}"
        days.append((when, False, _entries(per_day[day])))
    return Timeline(
        first=first,
        last=last,
        width=_LEFT * 2 + 8 * _COL,
        height=_TOP + 2 * _ROW + 4,
        column_width=_COL,
        row_height=_ROW,
        overdue=late,
        columns=tuple(columns),
        days=tuple(days),
    )


def _entries(by_label: dict[str, list[str]]) -> tuple[Entry, ...]:
    return tuple(
        Entry(label, "; ".join(items), any(i.endswith("takes effect") for i in items))
        for label, items in sorted(by_label.items())
    )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None
