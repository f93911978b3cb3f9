"""Read the sync's own state into `model.State` and `model.Schedule`: the page's only input.

The one module of this package that touches files: the ledger (read-only, never created), the
run log, and the config's schedule. No service is called, so the page can be built on any
machine that can read the state, while a run is going on too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sync.config.model import Config
from sync.core.domain import EffectState
from sync.ops.page.model import Schedule, State
from sync.state.adoption import AdoptionLedger
from sync.state.ledger import Ledger
from sync.state.runlog import RunLog


def read_state(cfg: Config) -> State:
    records: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for r in RunLog.in_state_dir(cfg.state_path).read():
        kind = r.get("type")
        if kind == "run":
            runs.append(r)
        elif kind == "finding" or (
            kind == "effect" and r.get("outcome") in ("failed", "needs_person", "unconfirmed")
        ):
            records.append(r)
    ledger = Ledger.open_readonly(cfg.state_path / "ledger.sqlite3")
    if ledger is None:
        return State(runs=runs, run_records=records)
    try:
        rows = ledger.rows()
        return State(
            rows=rows,
            findings=ledger.findings(),
            labels=ledger.request_labels(),
            adopted=AdoptionLedger(ledger).adopted(),
            undos=ledger.undos(),
            message_of={
                r.key: ledger.message_of(r.key) for r in rows if r.state is EffectState.SENDING
            },
            open_alerts=ledger.open_alerts(),
            runs=runs,
            run_records=records,
        )
    finally:
        ledger.close()


def read_schedule(cfg: Config, now: datetime, trigger: Any) -> Schedule:
    """The next fire time and the interval of `trigger` (the CLI's APScheduler trigger of
    `[schedule] cron`, so both read the schedule one way), in the schedule's time zone."""
    tz = ZoneInfo(cfg.schedule.timezone)
    first = trigger.get_next_fire_time(None, now.astimezone(tz))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    every = second - first if first and second else None
    hb = cfg.heartbeat
    if hb.url:
        beat = f"pings {urlsplit(hb.url).hostname or '?'} at the start and end of every run"
    elif hb.url_env:
        beat = f"pings the monitor named by ${hb.url_env} at the start and end of every run"
    else:
        beat = "not configured ([heartbeat] url): nothing outside notices if the sync stops"
    return Schedule(tz=tz, next_run=first, every=every, heartbeat=beat)
