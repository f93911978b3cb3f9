"""One real run as cron and `serve` do it: lock, connectors, run, alerts, close.

Shared by the run and undo commands and by `serve`, so they behave the same way. It lives with
the commands because it sits above both the engine (the run) and `sync.ops` (what people and
monitors are told afterwards), which the engine never imports.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from collections.abc import Mapping

from connectors.base import Connector
from sync.cli.schedule import cron_trigger
from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock
from sync.config.model import Config
from sync.core.domain import System
from sync.core.shadow import compare, report_text
from sync.engine import wiring
from sync.engine.request import RunRequest
from sync.engine.result import RunResult
from sync.engine.run import run_once
from sync.errors import SyncError
from sync.ops import metrics, morning
from sync.ops.alerts import after_run
from sync.ops.heartbeat import Heartbeat, paragraph
from sync.ops.page import write as page
from sync.state.adoption import AdoptionLedger
from sync.state.ledger import Ledger
from sync.state.lock import RunLock

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


def locked_run(cfg: Config, routes: Mapping[str, str] | None, request: RunRequest) -> RunResult:
    """One cron run: take the lock, run, release. SIGTERM (systemd stopping the unit, a
    container stopping) finishes the effect in hand and ends the run early, said so."""
    lock = take_lock(cfg)
    stopping = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda _n, _f: stopping.set())
    try:
        return unlocked_run(cfg, routes, request.stopping_when(stopping.is_set))
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        lock.release()


def unlocked_run(cfg: Config, routes: Mapping[str, str] | None, request: RunRequest) -> RunResult:
    """A run for a caller that already holds the lock (`serve` holds it for its whole life),
    or a dry run, which needs no lock: it writes nothing anywhere (and pings no monitor).

    The heartbeat brackets the whole run, connector set-up included, so a run that cannot
    even start (a missing credential) still reaches the monitor as a failure.

    With `golive.mode = "shadow"` every cron or `serve` run is a dry run that reads each due
    effect's target back, and the first one of a day mails the operations lead the shadow
    report (the heartbeat still pings: the service is alive, only writing is held back)."""
    # `undo` is a person's command, not the scheduled job the monitor watches.
    beat = None if request.dry_run or request.undo is not None else Heartbeat.from_config(cfg)
    if beat is not None:
        beat.start()
    try:
        result = _run(cfg, routes, request)
    except BaseException as exc:
        if beat is not None:
            beat.fail(f"The offboarding sync could not run: {exc}")
        raise
    if beat is not None:
        (beat.success if result.exit_code == 0 else beat.fail)(paragraph(result))
    return result


def _run(cfg: Config, routes: Mapping[str, str] | None, request: RunRequest) -> RunResult:
    clock, undo = request.clock, request.undo
    # In shadow mode nothing is written; a person's `undo` then only shows its plan.
    shadow_mode = cfg.golive.mode == "shadow" and not request.dry_run and undo is None
    dry_run = request.dry_run or (undo is not None and cfg.golive.mode == "shadow")
    wired = wiring.build(cfg, routes, clock=clock)
    try:
        looks = dry_run or shadow_mode  # writes nothing, reads each due effect's target back
        run = dataclasses.replace(request, dry_run=looks, verify=looks)
        result = run_once(cfg, run, source=wired.source, connectors=wired.connectors)
        if shadow_mode and result.fatal == "":
            result.shadow_report = send_shadow_report(
                cfg, result, wired.connectors.get(System.EMAIL), clock
            )
        if dry_run or shadow_mode or result.refused:
            return result
        try:
            after_run(cfg, result, wired.connectors.get(System.EMAIL), clock)
        except Exception as exc:  # the run is recorded; a failed alert is logged
            log.error("could not send the alerts of run %s: %s: %s", result.run_id,
                      type(exc).__name__, exc)  # fmt: skip
        # A run the safety valve stopped writes nowhere in the org: the alert tells the lead.
        if cfg.sheets.sync_log is not None and _worth_a_row(result) and not result.stop_reason:
            _sync_log_row(result, wired.connectors[System.SHEETS])
        metrics.write(cfg, result.run_id)
        morning.maybe_send(cfg, wired.connectors.get(System.EMAIL), now=clock.now())
        page.after_run(cfg, now=clock.now(), cron_trigger=cron_trigger)
    finally:
        wired.close()
    return result


def send_shadow_report(
    cfg: Config, result: RunResult, email: object | None, clock: Clock = SYSTEM_CLOCK
) -> str:
    """Mail the day's shadow report to the operations lead, once per day: the day is keyed in
    the ledger's own shadow table, apart from the effects, so going live later starts clean.
    Returns the report (sent now or earlier today)."""
    text = report_text(
        compare(
            result.today,
            result.plan.due,
            result.checks,
            result.plan.findings,
            result.stop_reason,
        )
    )
    day = result.today.isoformat()
    ledger = Ledger(cfg.state_path / "ledger.sqlite3", clock=clock)
    try:
        shadows = AdoptionLedger(ledger)
        if shadows.shadow_report_sent(day):
            return text
        send = getattr(email, "send_alert", None)
        if not callable(send):
            log.error("cannot send the shadow report: no email connector")
            return text
        try:
            send(f"shadow-report:{day}", f"shadow report for {day}", text)
        except SyncError as exc:
            log.error("could not send the shadow report (the next run tries again): %s", exc)
            return text
        shadows.record_shadow_report(day, text.splitlines()[1] if "\n" in text else text)
    finally:
        ledger.close()
    return text


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
