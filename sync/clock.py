"""The one clock: every reading of "today" and "now" in the product goes through a `Clock`.

Why one: the sync decides by the calendar (reminders N days before, the removal day, the
backlog valve's `max_days_past`, go-live's cut-over, the morning summary's day) and stamps
instants (run ids, ledger and run-log times, Salesforce's `SystemModstamp` in the sandbox).
A run asked `--as-of D` must see D everywhere, and a test must pass on any day it is run, so
no module reads the real clock on its own: it is handed a `Clock`.

A `Clock` is an instant source (aware UTC datetimes), an optional fixed day (`--as-of`), and
the `sleep` that retries and pacing wait through (a test's clock sleeps by moving its time,
not by waiting).

The real clock is still read, on purpose, in these places only; each measures real elapsed
time or deals with a peer that checks the real time, where a shifted day would be wrong:
- `wall_now()` below: lock staleness (`sync/state/lock.py` writes when the lock was taken, read
  by a person or another process to judge a stale lock), and the system clock's default.
- `time.monotonic()` in the heartbeat's timeouts (`sync/ops/heartbeat.py`): a duration.
- JWT `iat`/`exp` (google-auth, simple-salesforce's JWT bearer flow) are signed with the
  real clock by the client libraries, because the services check them against theirs.
- tenacity's `stop_after_delay` (`connectors/retry.py`) measures real time spent retrying.
- The emulators' default clocks (`connectors/emulators/service_clock.py`) stand for the
  services' own clocks; the sandbox hands them this module's clock instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def wall_now() -> datetime:
    """The machine's real time (UTC). Only the system clock and the places listed above."""
    return datetime.now(UTC)


def _real_sleep(seconds: float) -> None:
    # Looked up at call time, so a patched `time.sleep` (cassette replay) is honoured.
    time.sleep(seconds)


@dataclass(frozen=True)
class Clock:
    """Instants, the day they fall on, and how to wait.

    `day` pins "today" (the run's `--as-of`); instants still come from `instant`, so the
    order of events (watermarks, run ids, ledger stamps) stays the real one.
    """

    instant: Callable[[], datetime] = wall_now
    day: date | None = None
    sleep: Callable[[float], None] = field(default=_real_sleep, compare=False)

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        return self.instant().astimezone(UTC)

    def today(self, timezone: str) -> date:
        """The day it is in `timezone` (the agency's, from the config), or the pinned day."""
        if self.day is not None:
            return self.day
        return self.now().astimezone(ZoneInfo(timezone)).date()

    def as_of(self, day: date | None) -> Clock:
        """This clock with "today" pinned to `day` (no change for None)."""
        return self if day is None else replace(self, day=day)


SYSTEM = Clock()
"""The production clock: the machine's time, real sleeping."""


class ManualClock:
    """A clock that moves only when told to, or when slept on: for tests and previews.

    `sleep(s)` advances the time by `s` and returns at once, so a retry's backoff is seen
    (the waits are recorded in `slept`) without being waited for.
    """

    def __init__(self, start: datetime, *, tick: timedelta = timedelta(0)) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._tick = tick  # each reading moves time on by this much: no two events tie
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        now = self._now
        self._now += self._tick
        return now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._now += timedelta(seconds=max(0.0, seconds))

    def clock(self, day: date | None = None) -> Clock:
        """A `Clock` reading this manual time (and sleeping on it), "today" pinned to `day`."""
        return Clock(instant=self, day=day, sleep=self.sleep)
