"""The page as data: what the sync's own state holds goes in, one `Page` comes out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sync.core.domain import Finding
from sync.core.records import AdoptedRow, EffectRow, UndoRecord
from sync.ops.page.facts import StatusFacts, open_requests
from sync.ops.page.health import Health, health
from sync.ops.page.problems import Problem, needs_person
from sync.ops.page.runs import RunsView, problem_lines, recent_runs
from sync.ops.page.timeline import Timeline, timeline


@dataclass(frozen=True)
class State:
    """What the caller read from the ledger and the run log; nothing else is shown."""

    rows: Sequence[EffectRow] = ()
    findings: Sequence[Finding] = ()
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    adopted: Mapping[str, AdoptedRow] = field(default_factory=dict)
    undos: Mapping[str, Sequence[UndoRecord]] = field(default_factory=dict)
    message_of: Mapping[str, str] = field(default_factory=dict)  # unconfirmed key -> Message-ID
    open_alerts: Mapping[str, str] = field(default_factory=dict)  # problem key -> message
    runs: Sequence[Mapping[str, Any]] = ()  # the run log's run lines, oldest first
    run_records: Sequence[Mapping[str, Any]] = ()  # its effect and finding lines


@dataclass(frozen=True)
class Schedule:
    """The schedule's facts, computed by the caller from `[schedule]` (cron, time zone)."""

    tz: ZoneInfo
    next_run: datetime | None = None
    every: timedelta | None = None
    heartbeat: str = "not configured"


@dataclass(frozen=True)
class Page:
    title: str
    generated: str
    timezone: str
    health: Health
    problems: tuple[Problem, ...]
    timeline: Timeline
    facts: StatusFacts
    runs: RunsView


def build_page(
    state: State,
    schedule: Schedule,
    *,
    now: datetime,
    sync: Sequence[str] = ("python", "-m", "sync"),
    title: str = "Offboarding sync",
) -> Page:
    tz = schedule.tz
    today = now.astimezone(tz).date()
    facts = open_requests(state.rows, state.findings, state.labels, state.adopted, state.undos)
    problems = needs_person(
        state.rows, state.findings, state.labels, message_of=state.message_of, sync=sync
    )
    return Page(
        title=title,
        generated=now.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
        timezone=str(tz.key),
        health=health(
            state.runs[-1] if state.runs else None,
            problems=len(problems),
            open_alerts=list(state.open_alerts.values()),
            now=now,
            tz=tz,
            next_run=schedule.next_run,
            every=schedule.every,
            heartbeat=schedule.heartbeat,
        ),
        problems=tuple(problems),
        timeline=timeline(facts, today),
        facts=facts,
        runs=recent_runs(state.runs, problem_lines(state.run_records), today=today, tz=tz),
    )
