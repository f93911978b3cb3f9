"""`python -m sync serve`: stay up and run on the configured schedule (APScheduler 3.x).

One cron job, `schedule.cron` (every 15 minutes by default). Reminders and the morning summary
need no job of their own: every run plans the reminders that are due and sends each once, and
the first run at or past `morning_summary.send_after` sends the day's summary once (both kept
in the ledger), so there is no second daily job to collide with the first.
`max_instances=1` and `coalesce=True` stop runs from piling up. `serve` holds the run lock
for as long as it is up, so a cron run started beside it is always refused, not only when the
two happen to overlap. SIGTERM/SIGINT stop the scheduler: a run in progress starts no new effect
and ends cleanly (what it did not do stays owed; its run line says it stopped early, with exit
code 3), then the process exits 0: stopping a service is not a failure of the service.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from zoneinfo import ZoneInfo

from sync.cli.schedule import cron_trigger
from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock
from sync.config.model import Config
from sync.errors import SyncError
from sync.exitcodes import ExitCode

log = logging.getLogger("sync.scheduler")


def serve(cfg: Config, routes: Mapping[str, str] | None, clock: Clock = SYSTEM_CLOCK) -> int:
    """Run on the configured schedule until SIGTERM. APScheduler fires on the real time of
    day; each run's day and instants come from `clock`."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from sync.cli.runner import take_lock, unlocked_run
    from sync.engine import wiring
    from sync.engine.request import RunRequest
    from sync.ops.render import print_run

    # Credentials are read now, before the lock and the first run: a missing one is a
    # configuration error (exit 2), not a failure logged on every tick.
    wiring.build(cfg, routes).close()
    stopping = threading.Event()
    running = threading.Lock()  # held while a job runs, so the exit can wait for it
    tz = ZoneInfo(cfg.schedule.timezone)
    scheduler = BlockingScheduler(timezone=tz)

    def job() -> None:
        if stopping.is_set():
            return
        today = clock.today(cfg.schedule.timezone)
        try:
            with running:
                request = RunRequest(today=today, stop=stopping.is_set, clock=clock)
                result = unlocked_run(cfg, routes, request)
        except SyncError as exc:
            log.error("scheduled run failed: %s", exc)
            return
        if result.shadow_report:  # shadow mode: what the sync would do beside what people did
            sys.stdout.write(result.shadow_report)
            sys.stdout.flush()
        else:
            print_run(result, sys.stdout, sys.stderr)

    scheduler.add_job(
        job,
        cron_trigger(cfg.schedule.cron, cfg.schedule.timezone),
        id="run",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=cfg.schedule.misfire_grace_seconds,
    )

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.warning(
            "received %s: finishing the current effect, then stopping", signal.Signals(signum).name
        )
        stopping.set()
        # Do not wait here (we are in the signal handler); the main loop returns at once and
        # the shutdown below waits for a running job to end cleanly.
        scheduler.shutdown(wait=False)

    lock = take_lock(cfg)  # LockHeldError: another serve or a cron run is going on
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stderr.write(
        f"serving: '{cfg.schedule.cron}' ({cfg.schedule.timezone}); state in "
        f"{cfg.state_path}. Stop with SIGTERM or Ctrl-C.\n"
    )
    sys.stderr.flush()
    try:
        scheduler.start()
    finally:
        # start() returns after shutdown(wait=False); wait for a job still running to finish.
        with running:
            lock.release()
            log.warning("stopped")
    return ExitCode.OK
