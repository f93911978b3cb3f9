"""One real run as cron and `serve` do it: lock, connectors, run, alerts, close.

Shared by the CLI and the scheduler so both behave the same way.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import date

from connectors.base import Connector
from sync import wiring
from sync.alerts import after_run
from sync.config import Config
from sync.domain import System
from sync.engine import RunResult, run_once
from sync.errors import SyncError
from sync.lock import RunLock

log = logging.getLogger("sync.runner")


def take_lock(cfg: Config) -> RunLock:
    """Raises LockHeldError (and does nothing) when another run or `serve` holds it."""
    lock = RunLock(cfg.state_path)
    lock.acquire()
    if lock.took_over_from is not None:
        log.warning(
            "the previous run (pid %s) ended without releasing the lock; taken over",
            lock.took_over_from,
        )
    return lock


def locked_run(
    cfg: Config,
    routes: Mapping[str, str] | None,
    *,
    today: date,
    only: str | None = None,
) -> RunResult:
    """One cron run: take the lock, run, release. SIGTERM (systemd stopping the unit, a
    container stopping) finishes the effect in hand and ends the run early, said so."""
    lock = take_lock(cfg)
    stopping = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda _n, _f: stopping.set())
    try:
        return unlocked_run(cfg, routes, today=today, only=only, stop=stopping.is_set)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        lock.release()


def unlocked_run(
    cfg: Config,
    routes: Mapping[str, str] | None,
    *,
    today: date,
    only: str | None = None,
    stop: Callable[[], bool] = lambda: False,
    dry_run: bool = False,
) -> RunResult:
    """A run for a caller that already holds the lock (`serve` holds it for its whole life),
    or a dry run, which needs no lock: it writes nothing anywhere."""
    wired = wiring.build(cfg, routes)
    try:
        result = run_once(
            cfg,
            source=wired.source,
            connectors=wired.connectors,
            today=today,
            only=only,
            stop=stop,
            dry_run=dry_run,
        )
        if dry_run:
            return result
        after_run(cfg, result, wired.connectors.get(System.EMAIL))
        if cfg.sheets.sync_log is not None and _worth_a_row(result):
            _sync_log_row(result, wired.connectors[System.SHEETS])
    finally:
        wired.close()
    return result


def _worth_a_row(result: RunResult) -> bool:
    """The Sync Log tab is for people: a row for a run that did something (an effect acted on
    or skipped) or did not finish, none for a no-op run (96 a day on a 15-minute schedule)."""
    return bool(result.outcomes or result.plan.skips or result.fatal or result.stopped)


def _sync_log_row(result: RunResult, sheets: Connector) -> None:
    """One row in the Planner spreadsheet's "Sync Log" tab, where the operations lead already
    works. A failure here is logged, never fatal: the run log is the record."""
    append = getattr(sheets, "append_sync_log", None)
    if not callable(append):
        return
    c = result.counts
    summary = (
        f"{c['applied']} applied, {c['failed']} failed, {c['waiting']} waiting, "
        f"{c['needs_person']} need a person, {c['skipped']} skipped"
        + (f"; stopped: {result.fatal}" if result.fatal else "")
        + (f"; stopped early, {c['left']} left for the next run" if result.stopped else "")
    )
    try:
        append(
            {
                "run_id": result.run_id,
                "started_at": result.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                "finished_at": (result.finished_at or result.started_at).strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
                "summary": summary,
            }
        )
    except SyncError as exc:
        log.warning("could not add the run to the Sync Log tab: %s", exc)
