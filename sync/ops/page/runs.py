"""Recent runs: applied and failed per day for a chart, and the runs as `log RUN` states them.

Days are the agency's calendar days (the schedule's time zone), so a run at 23:30 local counts
on the day the ops lead lived it, not on UTC's. A run that did nothing at all (nothing applied,
failed, waiting on a person, no error) is folded into one line a day: at every 15 minutes that
is 96 runs a day of noise around the few that matter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CHART_DAYS = 30
_W, _H, _TOP, _BOTTOM, _LEFT = 480, 170, 12, 24, 34  # the chart's viewBox and margins


@dataclass(frozen=True)
class RunView:
    run_id: str
    started: str  # in the agency's time zone
    took: str
    as_of: str
    applied: int
    skipped: int
    failed: int
    waiting: int
    person: int
    retries: int
    adopted: int
    exit_code: str
    result: str
    state: str  # ok / attention / failing
    stop: str  # why the run stopped, or ""
    problems: tuple[str, ...]  # the run's effects that did not go through, and its findings


@dataclass(frozen=True)
class QuietRuns:
    day: str
    count: int


@dataclass(frozen=True)
class Bar:
    day: date
    label: str  # shown under every fifth bar, else ""
    applied: int
    failed: int
    x: float
    y_applied: float
    h_applied: float
    y_failed: float
    h_failed: float


@dataclass(frozen=True)
class RunsView:
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, int], ...]  # (y, value) of the value axis
    width: int
    height: int
    bar_width: float
    total_applied: int
    total_failed: int
    table: tuple[RunView | QuietRuns, ...]  # newest first
    first_day: date
    last_day: date


def parse(iso: str) -> datetime | None:
    try:
        return datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return None


def local(iso: str, tz: ZoneInfo) -> str:
    when = parse(iso)
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if when else iso or "?"


def took(run: Mapping[str, Any]) -> str:
    start, end = parse(run.get("started_at", "")), parse(run.get("finished_at", ""))
    return f"{(end - start).total_seconds():.1f} s" if start and end else "?"


def result_words(run: Mapping[str, Any]) -> tuple[str, str]:
    """(how the run ended in words, ok / attention / failing)."""
    c = run.get("counts", {})
    if run.get("stopped_early"):
        return f"stopped early, {c.get('left', '?')} left for the next run", "attention"
    if run.get("error"):
        return f"FAILED (exit {run.get('exit_code', '?')})", "failing"
    if run.get("exit_code", 0) == 0:
        return "ok", "ok"
    return f"problems (exit {run.get('exit_code')})", "attention"


def run_view(run: Mapping[str, Any], problems: Sequence[str], tz: ZoneInfo) -> RunView:
    c = run.get("counts", {})
    result, state = result_words(run)
    stop = ""
    if run.get("error"):
        stop = f"The run stopped: {run['error']}"
    elif run.get("stopped_early"):
        stop = (
            f"The run stopped early (a shutdown was asked for) and left {c.get('left', '?')} "
            "effect(s) owed for the next run."
        )
    return RunView(
        run_id=str(run.get("run_id", "?")),
        started=local(run.get("started_at", ""), tz),
        took=took(run),
        as_of=str(run.get("as_of", "?")),
        applied=int(c.get("applied", 0)),
        skipped=int(c.get("skipped", 0)),
        failed=int(c.get("failed", 0)),
        waiting=int(c.get("waiting", 0)),
        person=int(c.get("needs_person", 0)),
        retries=int(run.get("retries", 0) or 0),
        adopted=int(run.get("adopted", 0) or 0),
        exit_code=str(run.get("exit_code", "?")),
        result=result,
        state=state,
        stop=stop,
        problems=tuple(problems),
    )


def _quiet(run: Mapping[str, Any]) -> bool:
    c = run.get("counts", {})
    busy = ("applied", "failed", "needs_person", "left")
    return not run.get("error") and run.get("exit_code", 0) == 0 and not any(c.get(k) for k in busy)


def recent_runs(
    runs: Sequence[Mapping[str, Any]],
    problems: Mapping[str, Sequence[str]],
    *,
    today: date,
    tz: ZoneInfo,
    days: int = CHART_DAYS,
) -> RunsView:
    """The last `days` days up to `today` (the agency's): bars, and the runs table."""
    first = today - timedelta(days=days - 1)
    applied: dict[date, int] = defaultdict(int)
    failed: dict[date, int] = defaultdict(int)
    table: list[RunView | QuietRuns] = []
    quiet: dict[date, int] = defaultdict(int)
    for run in reversed(runs):
        when = parse(run.get("started_at", ""))
        if when is None:
            continue
        day = when.astimezone(tz).date()
        if not first <= day <= today:
            continue
        c = run.get("counts", {})
        applied[day] += int(c.get("applied", 0))
        failed[day] += int(c.get("failed", 0))
        if _quiet(run):
            if not quiet[day]:
                table.append(QuietRuns(day.isoformat(), 0))  # counted below
            quiet[day] += 1
        else:
            table.append(run_view(run, problems.get(str(run.get("run_id")), ()), tz))
    table = [QuietRuns(t.day, quiet[date.fromisoformat(t.day)]) if isinstance(t, QuietRuns)
             else t for t in table]  # fmt: skip
    top = max([*applied.values(), *failed.values(), 1])
    scale = _nice(top)
    plot_h = _H - _TOP - _BOTTOM
    slot = (_W - _LEFT) / days
    bar_w = slot * 0.38
    bars = []
    for n in range(days):
        day = first + timedelta(days=n)
        a, f = applied.get(day, 0), failed.get(day, 0)
        ha, hf = plot_h * a / scale, plot_h * f / scale
        x = _LEFT + n * slot + slot * 0.1
        label = f"{day:%b} {day.day}" if n % 5 == 0 or n == days - 1 else ""
        bars.append(Bar(day, label, a, f, round(x, 1), round(_TOP + plot_h - ha, 1),
                        round(ha, 1), round(_TOP + plot_h - hf, 1), round(hf, 1)))  # fmt: skip
    ticks = tuple((round(_TOP + plot_h - plot_h * v / scale, 1), v) for v in (0, scale // 2, scale))
    return RunsView(
        bars=tuple(bars),
        ticks=ticks,
        width=_W,
        height=_H,
        bar_width=round(bar_w, 1),
        total_applied=sum(applied.values()),
        total_failed=sum(failed.values()),
        table=tuple(table),
        first_day=first,
        last_day=today,
    )


def _nice(top: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `top` (an axis a person reads)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= top:
                return max(m * step, 2)
        step *= 10


def problem_lines(records: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """For each run: its effects that did not go through and its findings, as `log RUN` says."""
    words = {
        "failed": "FAILED",
        "needs_person": "NEEDS A PERSON",
        "unconfirmed": "UNCONFIRMED SEND",
    }
    out: dict[str, list[str]] = defaultdict(list)
    for r in records:
        kind = r.get("type")
        who = r.get("request") or r.get("request_id", "")
        if kind == "effect" and r.get("outcome") in words:
            client = f" ({r['client']})" if r.get("client") else ""
            out[str(r.get("run_id"))].append(
                f"{words[r['outcome']]}: {who}{client}: {r.get('kind')}/{r.get('target')}: "
                f"{r.get('error', '')}"
            )
        elif kind == "finding":
            out[str(r.get("run_id"))].append(f"{who}: {r.get('message', '')}")
    return out
